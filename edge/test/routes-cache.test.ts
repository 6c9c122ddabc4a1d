// Redis is only a cache: the admin rebuild (and the edge by itself, when Redis comes back empty) restores every route.
import { Redis } from '@upstash/redis/cloudflare';
import { describe, expect, it } from 'vitest';
import { admin, bindings, createHost, json, physicalEnv, registerUser } from './helpers.ts';

const redis = new Redis({
  url: bindings.UPSTASH_REDIS_REST_URL,
  token: bindings.UPSTASH_REDIS_REST_TOKEN,
  enableTelemetry: false,
  automaticDeserialization: false,
});

describe('routing cache rebuild', () => {
  it('POST /admin/routes/rebuild restores the keys of live environments after Redis lost them', async () => {
    const host = await createHost();
    const user = await registerUser();
    const id = await physicalEnv(host.id, user);
    const envJson = await json<{ environment: { ssh_port: number } }>(`/api/v1/environments/${id}`, {
      token: user.token,
    });
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
    expect(await redis.get(`env:${id}:ssh_port`)).toBe(String(envJson.body.environment.ssh_port));
    expect(await redis.exists(...keys)).toBe(5);
    expect(await redis.smembers(`env:${id}:public_ports`)).toEqual(['6006']);
  });
});
