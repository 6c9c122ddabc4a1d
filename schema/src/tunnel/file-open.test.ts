import { describe, expect, it } from 'vitest';
import { FILE_STREAM_PORT, FilePath } from './file-open.ts';
import { OpenHead, decodeHead } from './frames.ts';

const base = { environment_id: 'abcdefghijklmnop', port: FILE_STREAM_PORT, method: 'GET', path: '/', headers: [] };
const head = (v: unknown) => decodeHead(OpenHead, new TextEncoder().encode(JSON.stringify(v)));

describe('file OpenHead', () => {
  it('accepts absolute paths and keeps app heads without `file` as they were', () => {
    const r = head({ ...base, file: { op: 'put', path: '/root/data/测试.bin' } });
    expect(r.ok && r.value.file).toEqual({ op: 'put', path: '/root/data/测试.bin' });
    const app = head(base);
    expect(app.ok && app.value.file).toBeUndefined();
  });
  it('refuses relative, NUL-carrying, directory and over-long paths, and unknown ops', () => {
    for (const path of ['root/x', '/root/\0x', '/root/', '/', `/${'a'.repeat(5000)}`])
      expect(FilePath.safeParse(path).success).toBe(false);
    expect(head({ ...base, file: { op: 'rm', path: '/x' } })).toEqual({ ok: false, error: 'invalid_head' });
    expect(head({ ...base, file: { op: 'get' } })).toEqual({ ok: false, error: 'invalid_head' });
  });
});
