// Bad input gets a clear JSON error and changes nothing.
import { createClient } from '@libsql/client/web';
import { describe, expect, it } from 'vitest';
import { admin, bindings, createHost, json, registerUser } from './helpers.ts';

const sql = createClient({ url: bindings.LIBSQL_URL, authToken: bindings.LIBSQL_AUTH_TOKEN });
const counts = async () => {
  const r =
    await sql.execute(`SELECT (SELECT count(*) FROM environments), (SELECT count(*) FROM machines), (SELECT count(*) FROM hosts),
    (SELECT count(*) FROM images), (SELECT count(*) FROM port_allocations), (SELECT count(*) FROM ssh_keys), (SELECT count(*) FROM users)`);
  const row = r.rows[0]!;
  return r.columns.map((_, i) => Number(row[i]));
};

describe('input validation', () => {
  it.each([
    ['malformed JSON', '/api/v1/environments', '{"name": "x", ', 400, 'invalid_json'],
    ['JSON array', '/api/v1/environments', '[1,2]', 422, 'validation_failed'],
    [
      'unknown field',
      '/api/v1/environments',
      JSON.stringify({ name: 'x', image_id: 1, gpu_count: 0, cpu_cores: 1, memory_gb: 1, privileged: true }),
      422,
      'validation_failed',
    ],
    [
      'gpu_count 9',
      '/api/v1/environments',
      JSON.stringify({ name: 'x', image_id: 1, gpu_count: 9, cpu_cores: 1, memory_gb: 1 }),
      422,
      'validation_failed',
    ],
    [
      'gpu_count -1',
      '/api/v1/environments',
      JSON.stringify({ name: 'x', image_id: 1, gpu_count: -1, cpu_cores: 1, memory_gb: 1 }),
      422,
      'validation_failed',
    ],
    [
      'fractional cpu',
      '/api/v1/environments',
      JSON.stringify({ name: 'x', image_id: 1, gpu_count: 0, cpu_cores: 1.5, memory_gb: 1 }),
      422,
      'validation_failed',
    ],
    [
      'string number',
      '/api/v1/environments',
      JSON.stringify({ name: 'x', image_id: '1', gpu_count: 0, cpu_cores: 1, memory_gb: 1 }),
      422,
      'validation_failed',
    ],
    [
      '10,000-character name',
      '/api/v1/environments',
      JSON.stringify({ name: 'n'.repeat(10_000), image_id: 1, gpu_count: 0, cpu_cores: 1, memory_gb: 1 }),
      422,
      'validation_failed',
    ],
    [
      'empty name',
      '/api/v1/environments',
      JSON.stringify({ name: '   ', image_id: 1, gpu_count: 0, cpu_cores: 1, memory_gb: 1 }),
      422,
      'validation_failed',
    ],
    [
      'no such image',
      '/api/v1/environments',
      JSON.stringify({ name: 'x', image_id: 987654, gpu_count: 0, cpu_cores: 1, memory_gb: 1 }),
      422,
      'validation_failed',
    ],
    [
      'allocate with unknown field',
      '/api/v1/market/machines/1/allocate',
      JSON.stringify({ name: 'x', target_ip: '10.0.0.1' }),
      422,
      'validation_failed',
    ],
    [
      'ssh key garbage',
      '/api/v1/ssh-keys',
      JSON.stringify({ name: 'k', public_key: 'ssh-ed25519 not-base64!!! me' }),
      422,
      'validation_failed',
    ],
    [
      'ssh key type mismatch',
      '/api/v1/ssh-keys',
      JSON.stringify({
        name: 'k',
        public_key: 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIFr9+iizavZlDdzo/5KuzSzVkG3JgeZGG3iUikPS0AxR x',
      }),
      422,
      'validation_failed',
    ],
    ['huge body', '/api/v1/environments', JSON.stringify({ name: 'x'.repeat(70_000) }), 413, 'payload_too_large'],
  ])('%s → %s %s, nothing changes', async (_what, path, raw, status, code) => {
    const user = await registerUser();
    const before = await counts();
    const r = await json<{ error: { code: string; message: string } }>(path, { token: user.token, raw });
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(r.body.error.message.length).toBeGreaterThan(5);
    expect(await counts()).toEqual(before);
  });

  it.each([
    [
      'machine without host',
      '/api/v1/admin/machines',
      {
        name: 'm',
        region: 'r',
        gpu_model: 'g',
        gpu_count: 1,
        gpu_memory: 1,
        cpu_cores: 1,
        memory_gb: 1,
        disk_gb: 1,
        target_ip: '127.0.0.9',
        host_id: 'nope',
        monthly_price: 1,
      },
    ],
    [
      'machine with bad ip',
      '/api/v1/admin/machines',
      {
        name: 'm',
        region: 'r',
        gpu_model: 'g',
        gpu_count: 1,
        gpu_memory: 1,
        cpu_cores: 1,
        memory_gb: 1,
        disk_gb: 1,
        target_ip: 'evil; rm -rf',
        host_id: 'nope',
        monthly_price: 1,
      },
    ],
    [
      'image with a shell in its ref',
      '/api/v1/admin/images',
      { name: 'i', docker_ref: 'busybox; reboot', hourly_price: 1 },
    ],
    ['negative price', '/api/v1/admin/images', { name: 'i', docker_ref: 'busybox', hourly_price: -1 }],
    ['host name with spaces', '/api/v1/admin/hosts', { name: 'a b', public_ssh_host: '127.0.0.1' }],
    ['host port 0', '/api/v1/admin/hosts', { name: 'ab', public_ssh_host: '127.0.0.1', shared_ssh_port: 0 }],
  ])('admin: %s → 422, nothing changes', async (_what, path, body) => {
    const before = await counts();
    const r = await json<{ error: { code: string } }>(path, { token: await admin(), body });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('validation_failed');
    expect(await counts()).toEqual(before);
  });

  it('query strings are validated too', async () => {
    const user = await registerUser();
    expect((await json('/api/v1/market/machines?page_size=1000', { token: user.token })).status).toBe(422);
    expect((await json('/api/v1/market/machines?bogus=1', { token: user.token })).status).toBe(422);
    expect((await json('/api/v1/environments?status=exploded', { token: user.token })).status).toBe(422);
    await createHost();
  });
});
