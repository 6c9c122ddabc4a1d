// The routing-cache helpers against real Redis, through the real @upstash/redis and through node-redis.
import { Redis } from '@upstash/redis';
import { createClient } from 'redis';
import { SecretInRedisError, deleteRoute, readRoute, redisKeys, writeRoute, type RouteRecord } from '@remotegpu/schema';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const upstash = new Redis({ url: inject('upstashUrl'), token: inject('upstashToken'), enableTelemetry: false });
const direct = createClient({ url: inject('redisUrl') });

const id = '6hiflzwte2xnkroq';
const record = (): RouteRecord => ({
  environment_id: id,
  type: 'physical',
  ip: '192.168.1.101',
  ssh_port: 56376,
  host_id: 'host_1',
  access_info: {
    environment_id: id,
    type: 'physical',
    ssh_host: '6hiflzwte2xnkroq.ssh.x-gpu.com',
    ssh_port: 56376,
    ssh_username: 'root',
    target_ip: '192.168.1.101',
    jupyter_url: 'https://6hiflzwte2xnkroq-8888.container.x-gpu.com/',
    created_at: '2026-02-02T10:30:00.000Z',
    ssh_command: 'ssh -p 56376 root@6hiflzwte2xnkroq.ssh.x-gpu.com',
  },
});

beforeAll(async () => {
  await direct.connect();
});
afterAll(async () => {
  await direct.quit();
});

describe('route keys in Redis', () => {
  it("writes the seed's keys, readable by any Redis client (as the seed's OpenResty would read them)", async () => {
    await writeRoute(upstash, record());
    expect(await direct.get(`env:${id}:ip`)).toBe('192.168.1.101');
    expect(await direct.get(`env:${id}:ssh_port`)).toBe('56376');
    expect(await direct.get(`env:${id}:type`)).toBe('physical');
    expect(await direct.get(`env:${id}:host`)).toBe('host_1');
    expect(JSON.parse((await direct.get(`env:${id}:access_info`))!)).toEqual(record().access_info);
    expect(await readRoute(upstash, id)).toEqual(record());
  });

  it('can never store a password: a record carrying one is refused and nothing is written', async () => {
    await deleteRoute(upstash, id);
    const leaky = record();
    (leaky.access_info as Record<string, unknown>).ssh_password = 'kD2oTIydfOKmQadjma0gH5JyDApG0uWn';
    await expect(writeRoute(upstash, leaky)).rejects.toBeInstanceOf(SecretInRedisError);
    const sneaky = record();
    (sneaky.access_info as Record<string, unknown>).password_hash = 'scrypt$...';
    await expect(writeRoute(upstash, sneaky)).rejects.toBeInstanceOf(SecretInRedisError);
    expect(await direct.keys(`env:${id}:*`)).toEqual([]);
  });

  it('refuses bad ids and mismatched access info, and reads garbage as a miss', async () => {
    await expect(writeRoute(upstash, { ...record(), environment_id: 'BAD' })).rejects.toThrow(RangeError);
    await expect(writeRoute(upstash, { ...record(), environment_id: 'zzzzzzzzzzzzzzzz' })).rejects.toThrow(
      /another environment/,
    );
    await writeRoute(upstash, record());
    await direct.set(redisKeys.accessInfo(id), '{not json');
    expect(await readRoute(upstash, id)).toBeNull();
    expect(await readRoute(upstash, '../../etc/passwd')).toBeNull();
  });

  it('deletes every key of the environment', async () => {
    await writeRoute(upstash, record());
    await direct.sAdd(redisKeys.publicPorts(id), '8888');
    await deleteRoute(upstash, id);
    expect(await direct.keys(`env:${id}:*`)).toEqual([]);
    expect(await readRoute(upstash, id)).toBeNull();
  });
});
