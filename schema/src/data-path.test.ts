import { describe, expect, it } from 'vitest';
import { CreateImageRequest, DataPath } from './api.ts';

describe('data path', () => {
  it('is an absolute path without . or .. segments', () => {
    for (const ok of ['/root/data', '/workspace', '/data/my-project_1.0'])
      expect(DataPath.safeParse(ok).success).toBe(true);
    for (const bad of ['root/data', '/', '/root/../etc', '/root/./x', '/..', '/a b', '/root/data/', ''])
      expect(DataPath.safeParse(bad).success, bad).toBe(false);
  });

  it('defaults to /root/data for a new image', () => {
    expect(CreateImageRequest.parse({ name: 'x', docker_ref: 'x', hourly_price: 1 })).toMatchObject({
      data_path: '/root/data',
      no_gpu_hourly_price: null,
    });
  });
});
