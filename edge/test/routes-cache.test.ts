// Redis is only a cache: the admin rebuild (and the edge by itself, when Redis comes back empty) restores every route.
import { Redis } from '@upstash/redis/cloudflare';
import { describe, expect, it } from 'vitest';
import { admin, bindings, createHost, json, registerUser, unique } from './helpers.ts';

const redis = new Redis({
  url: bindings.UPSTASH_REDIS_REST_URL,
  token: bindings.UPSTASH_REDIS_REST_TOKEN,
  enableTelemetry: false,
  automaticDeserialization: false,
});

describe('routing cache rebuild', () => {
  it('POST /admin/routes/rebuild restores the keys of live environments after Redis lost them', async () => {
    const host = await createHost();
    const m = await json<{ machine: { id: number } }>('/api/v1/admin/machines', {
      token: await admin(),
      body: {
        name: unique('m-'),
        region: 'r',
        gpu_model: 'g',
        gpu_count: 1,
        gpu_memory: 24,
        cpu_cores: 8,
        memory_gb: 32,
        disk_gb: 100,
        target_ip: '127.0.0.2',
        host_id: host.id,
        monthly_price: 100,
      },
    });
    const user = await registerUser();
    const env = await json<{ environment: { id: string; ssh_port: number } }>(
      `/api/v1/market/machines/${m.body.machine.id}/allocate`,
      { token: user.token, body: {} },
    );
    const id = env.body.environment.id;
    expect(
      (await json(`/api/v1/environments/${id}/apps/6006`, { method: 'PUT', token: user.token, body: { public: true } }))
        .status,
    ).toBe(200);
    const keys = ['ip', 'ssh_port', 'type', 'access_info', 'host'].map((k) => `env:${id}:${k}`);
    expect(await redis.exists(...keys)).toBe(5);
    await redis.del(...keys, `env:${id}:public_ports`);
    expect(await redis.exists(...keys)).toBe(0);
    const r = await json<{ written: number }>('/api/v1/admin/routes/rebuild', { method: 'POST', token: await admin() });
    expect(r.status).toBe(200);
    expect(r.body.written).toBeGreaterThanOrEqual(1);
    expect(await redis.get(`env:${id}:ssh_port`)).toBe(String(env.body.environment.ssh_port));
    expect(await redis.exists(...keys)).toBe(5);
    expect(await redis.smembers(`env:${id}:public_ports`)).toEqual(['6006']);
  });
});
