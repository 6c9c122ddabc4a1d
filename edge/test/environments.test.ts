// Container environments through a test agent on a real WebSocket: create, access, Redis, actions, delete, failures.
import { Redis } from '@upstash/redis/cloudflare';
import { CMD, redisKeyFamily } from '@remotegpu/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAgent, admin, bindings, createHost, drainAllHosts, json, registerUser, unique } from './helpers.ts';
import { until } from '../../dev/src/until.ts';

const redis = new Redis({
  url: bindings.UPSTASH_REDIS_REST_URL,
  token: bindings.UPSTASH_REDIS_REST_TOKEN,
  enableTelemetry: false,
  automaticDeserialization: false,
});

async function allRedis(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, { count: 500 });
    cursor = String(next);
    for (const k of keys) {
      const type = await redis.type(k);
      const v =
        type === 'string' ? await redis.get<string>(k) : type === 'set' ? (await redis.smembers(k)).join(',') : type;
      out.set(k, String(v));
    }
  } while (cursor !== '0');
  return out;
}

describe('container environments', () => {
  let agent: TestAgent;
  let imageId: number;
  let renter: { token: string; id: string };
  let created = 0;

  beforeAll(async () => {
    // Drain any hosts other test files left online so placement lands on this file's agent.
    await drainAllHosts();
    const host = await createHost();
    agent = await TestAgent.connect(host.token, {
      onCommand: async (cmd) => {
        if (cmd.name === CMD.containerCreate) {
          const a = cmd.args as { image: string; environment_id: string };
          if (a.image === 'missing/image:1')
            return {
              ok: false,
              code: 'create_failed',
              message: 'pull access denied for missing/image, repository does not exist',
            };
          if (a.image === 'drop/image:1') return 'drop';
          created++;
          return { ok: true, data: { container_id: `c${created}`, ip: `172.31.9.${created}`, host_key: null } };
        }
        if (cmd.name === CMD.containerStop) return { ok: true, data: { state: 'exited' } };
        if (cmd.name === CMD.containerStart || cmd.name === CMD.containerRestart)
          return { ok: true, data: { state: 'running', ip: '172.31.9.200' } };
        return { ok: true, data: { state: 'removed' } };
      },
    });
    await agent.ready();
    const img = await json<{ image: { id: number } }>('/api/v1/admin/images', {
      token: await admin(),
      body: {
        name: unique('pytorch:2.0-cuda11.8-'),
        docker_ref: 'remotegpu/busybox:latest',
        has_sshd: false,
        hourly_price: 1.5,
      },
    });
    imageId = img.body.image.id;
    renter = await registerUser();
  });

  afterAll(() => agent.close());

  it('creates a running container through the relay, with access info and seed Redis keys holding no secret', async () => {
    const r = await json<{
      environment: {
        id: string;
        status: string;
        ssh_port: number;
        target_ip: string;
        container_id: string;
        type: string;
      };
    }>('/api/v1/environments', {
      token: renter.token,
      body: { name: '我的训练环境', image_id: imageId, gpu_count: 2, cpu_cores: 8, memory_gb: 32 },
    });
    expect(r.status).toBe(201);
    const env = r.body.environment;
    expect(env).toMatchObject({ status: 'running', type: 'container', container_id: expect.stringMatching(/^c\d+$/) });
    expect(env.id).toMatch(/^[a-z0-9]{16}$/);
    expect(env.ssh_port).toBeGreaterThanOrEqual(50000);
    expect(env.ssh_port).toBeLessThanOrEqual(59999);
    const create = agent.commands.find((c) => c.name === CMD.containerCreate)!;
    expect(create.args).toMatchObject({
      environment_id: env.id,
      request_id: env.id,
      gpu_devices: [0, 1],
      cpu_cores: 8,
      memory_gb: 32,
      has_sshd: false,
    });
    expect(create.deadline).toBeGreaterThan(Date.now());

    const access = await json<Record<string, unknown>>(`/api/v1/environments/${env.id}/access`, {
      token: renter.token,
    });
    expect(access.status).toBe(200);
    expect(access.body).toMatchObject({
      environment_id: env.id,
      type: 'container',
      ssh_port: env.ssh_port,
      ssh_username: 'root',
      target_ip: env.target_ip,
      ssh_command: `ssh -p ${env.ssh_port} root@127.0.0.1`,
    });
    const password = access.body.ssh_password as string;
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(access.body.jupyter_url).toContain(`${env.id}-8888.container.`);

    // The relay got the route with the hash, never the password.
    const route = await until('the route at the agent', () => agent.routes.get(env.id), { timeout: 5000 });
    expect(route).toMatchObject({
      ssh_port: env.ssh_port,
      running: true,
      target: { kind: 'docker', container_id: env.container_id },
    });
    expect(route.password_hash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(route)).not.toContain(password);

    const all = await allRedis();
    expect(all.get(`env:${env.id}:ip`)).toBe(env.target_ip);
    expect(all.get(`env:${env.id}:ssh_port`)).toBe(String(env.ssh_port));
    expect(all.get(`env:${env.id}:type`)).toBe('container');
    expect(all.get(`env:${env.id}:host`)).toBeTruthy();
    expect(JSON.parse(all.get(`env:${env.id}:access_info`)!)).toMatchObject({
      environment_id: env.id,
      ssh_port: env.ssh_port,
    });
    for (const [k, v] of all) {
      // Every key the platform wrote belongs to a family schema declares (`edge:*` are the stand-in test's own).
      if (!k.startsWith('edge:')) expect(redisKeyFamily(k), k).not.toBeNull();
      expect(v, k).not.toContain(password);
      expect(v, k).not.toContain(route.password_hash);
      expect(v, k).not.toMatch(/scrypt\$|ssh_password|password_enc|v1\./);
    }

    // stop → start → restart act through the relay and keep Redis in step.
    const stop = await json<{ environment: { status: string } }>(`/api/v1/environments/${env.id}/stop`, {
      method: 'POST',
      token: renter.token,
    });
    expect(stop.body.environment.status).toBe('stopped');
    expect(agent.routes.get(env.id)?.running).toBe(false);
    const start = await json<{ environment: { status: string; target_ip: string } }>(
      `/api/v1/environments/${env.id}/start`,
      { method: 'POST', token: renter.token },
    );
    expect(start.body.environment).toMatchObject({ status: 'running', target_ip: '172.31.9.200' });
    expect(await redis.get(`env:${env.id}:ip`)).toBe('172.31.9.200');
    const bad = await json<{ error: { code: string } }>(`/api/v1/environments/${env.id}/start`, {
      method: 'POST',
      token: renter.token,
    });
    expect(bad.status).toBe(409);
    expect(bad.body.error.code).toBe('invalid_state');

    // Rotation: a new password, a new hash at the relay.
    const rotated = await json<{ ssh_password: string }>(`/api/v1/environments/${env.id}/rotate-password`, {
      method: 'POST',
      token: renter.token,
    });
    expect(rotated.body.ssh_password).not.toBe(password);
    await until(
      'the new password hash at the agent',
      () => agent.routes.get(env.id)?.password_hash !== route.password_hash,
      { timeout: 5000 },
    );

    const del = await json(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: renter.token });
    expect(del.status).toBe(204);
    expect(
      agent.commands.some(
        (c) => c.name === CMD.containerRemove && (c.args as { environment_id: string }).environment_id === env.id,
      ),
    ).toBe(true);
    expect(agent.routes.has(env.id)).toBe(false);
    const after = await allRedis();
    expect([...after.keys()].filter((k) => k.startsWith(`env:${env.id}:`))).toEqual([]);
    expect((await json(`/api/v1/environments/${env.id}`, { token: renter.token })).status).toBe(404);

    const audit = await json<{ items: { event: string; environment_id: string }[] }>(
      `/api/v1/audit-events?environment_id=${env.id}`,
      { token: renter.token },
    );
    expect(audit.body.items.map((i) => i.event)).toEqual(
      expect.arrayContaining([
        'environment.create',
        'environment.stop',
        'environment.start',
        'environment.rotate_password',
        'environment.delete',
      ]),
    );
    const usage = await json<{ items: { environment_id: string; kind: string; units: number; amount: number }[] }>(
      '/api/v1/usage',
      { token: renter.token },
    );
    expect(usage.body.items.filter((u) => u.environment_id === env.id)).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'hourly', units: 1, amount: 1.5 })]),
    );
  });

  it('refuses a request no relay can hold with 409 no_capacity, and leaves nothing behind', async () => {
    const before = await json<{ items: unknown[] }>('/api/v1/environments', { token: renter.token });
    const r = await json<{ error: { code: string } }>('/api/v1/environments', {
      token: renter.token,
      body: { name: 'big', image_id: imageId, gpu_count: 8, cpu_cores: 8, memory_gb: 32 },
    });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('no_capacity');
    const after = await json<{ items: unknown[] }>('/api/v1/environments', { token: renter.token });
    expect(after.body.items.length).toBe(before.body.items.length);
  });

  it("reports Docker's reason with 502 create_failed and shows the environment as failed", async () => {
    const img = await json<{ image: { id: number } }>('/api/v1/admin/images', {
      token: await admin(),
      body: { name: unique('missing-'), docker_ref: 'missing/image:1', hourly_price: 1 },
    });
    const r = await json<{ error: { code: string; message: string } }>('/api/v1/environments', {
      token: renter.token,
      body: { name: 'bad', image_id: img.body.image.id, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
    });
    expect(r.status).toBe(502);
    expect(r.body.error).toEqual({ code: 'create_failed', message: expect.stringContaining('pull access denied') });
    const list = await json<{ items: { name: string; status: string; status_reason: string }[] }>(
      '/api/v1/environments',
      { token: renter.token },
    );
    expect(list.body.items.find((e) => e.name === 'bad')).toMatchObject({
      status: 'failed',
      status_reason: expect.stringContaining('pull access denied'),
    });
  });
});

describe('a relay that disconnects mid-command', () => {
  it('gives the caller 503 host_offline within the deadline and the host shows offline', async () => {
    await drainAllHosts();
    const host = await createHost();
    const agent = await TestAgent.connect(host.token, { onCommand: async () => 'drop' });
    await agent.ready();
    const img = await json<{ image: { id: number } }>('/api/v1/admin/images', {
      token: await admin(),
      body: { name: unique('img-'), docker_ref: 'x:1', hourly_price: 1 },
    });
    const renter = await registerUser();
    const t0 = Date.now();
    const r = await json<{ error: { code: string } }>('/api/v1/environments', {
      token: renter.token,
      body: { name: 'dropme', image_id: img.body.image.id, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
    });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('host_offline');
    expect(Date.now() - t0).toBeLessThan(4000);
    const list = await until(
      'the environments list',
      async () => {
        const l = await json<{ items: { id: string; status: string; last_seen_at: string | null }[] }>(
          '/api/v1/admin/hosts',
          { token: await admin() },
        );
        const h = l.body.items.find((x) => x.id === host.id);
        return h?.status === 'offline' ? h : null;
      },
      { timeout: 5000 },
    );
    expect(list.last_seen_at).not.toBeNull();
    // With no relay online at all, a create is refused up front.
    const again = await json<{ error: { code: string } }>('/api/v1/environments', {
      token: renter.token,
      body: { name: 'none', image_id: img.body.image.id, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
    });
    expect(again.status).toBe(503);
    expect(again.body.error.code).toBe('host_offline');
  });
});

describe('a create slower than the deadline (a big image pull)', () => {
  it('answers 202 creating, and the late result still makes the environment running with its route', async () => {
    await drainAllHosts();
    const host = await createHost();
    const agent = await TestAgent.connect(host.token, { onCommand: async () => 'hang' });
    await agent.ready();
    const img = await json<{ image: { id: number } }>('/api/v1/admin/images', {
      token: await admin(),
      body: { name: unique('slow-'), docker_ref: 'huge/image:1', hourly_price: 2 },
    });
    const renter = await registerUser();
    const r = await json<{ environment: { id: string; status: string } }>('/api/v1/environments', {
      token: renter.token,
      body: { name: 'slow', image_id: img.body.image.id, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
    });
    expect(r.status).toBe(202);
    expect(r.body.environment.status).toBe('creating');
    const cmd = agent.commands.find((c) => c.name === CMD.containerCreate)!;
    agent.send({
      type: 'result',
      id: cmd.id,
      ok: true,
      data: { container_id: 'late-1', ip: '172.31.9.77', host_key: null },
    });
    const env = await until(
      'the environment',
      async () => {
        const e = await json<{ environment: { status: string; target_ip: string; container_id: string } }>(
          `/api/v1/environments/${r.body.environment.id}`,
          { token: renter.token },
        );
        return e.body.environment.status === 'running' ? e.body.environment : null;
      },
      { timeout: 5000 },
    );
    expect(env).toMatchObject({ target_ip: '172.31.9.77', container_id: 'late-1' });
    expect(
      await until('the late route at the agent', () => agent.routes.get(r.body.environment.id), { timeout: 5000 }),
    ).toMatchObject({ running: true, target: { kind: 'docker', container_id: 'late-1' } });
    expect(await redis.get(`env:${r.body.environment.id}:ip`)).toBe('172.31.9.77');
    agent.close();
  });
});

describe('GPUs go to one environment each', () => {
  it('of concurrent creates that want the same GPUs, only as many as fit succeed; a stop frees them', async () => {
    await drainAllHosts();
    const host = await createHost();
    let n = 0;
    const agent = await TestAgent.connect(host.token, {
      onCommand: async (cmd) => {
        if (cmd.name === CMD.containerCreate) {
          await new Promise((r) => setTimeout(r, 50));
          n++;
          return { ok: true, data: { container_id: `g${n}`, ip: `172.31.8.${n}`, host_key: null } };
        }
        return { ok: true, data: { state: cmd.name === CMD.containerStop ? 'exited' : 'running' } };
      },
    });
    await agent.ready();
    const img = await json<{ image: { id: number } }>('/api/v1/admin/images', {
      token: await admin(),
      body: { name: unique('gpu-'), docker_ref: 'g:1', hourly_price: 3 },
    });
    const renter = await registerUser();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        json<{ environment?: { id: string }; error?: { code: string } }>('/api/v1/environments', {
          token: renter.token,
          body: { name: `g${i}`, image_id: img.body.image.id, gpu_count: 2, cpu_cores: 1, memory_gb: 1 },
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 201);
    expect(ok.length).toBe(2); // 4 GPUs, 2 each
    for (const r of results.filter((x) => x.status !== 201)) expect(r.body.error?.code).toBe('no_capacity');
    const devices = agent.commands
      .filter((c) => c.name === CMD.containerCreate)
      .map((c) => (c.args as { gpu_devices: number[] }).gpu_devices);
    expect(devices.flat().sort()).toEqual([0, 1, 2, 3]);
    // Stopping one frees its GPUs for a new environment.
    await json(`/api/v1/environments/${ok[0]!.body.environment!.id}/stop`, { method: 'POST', token: renter.token });
    const again = await json('/api/v1/environments', {
      token: renter.token,
      body: { name: 'again', image_id: img.body.image.id, gpu_count: 2, cpu_cores: 1, memory_gb: 1 },
    });
    expect(again.status).toBe(201);
    // ...and the stopped one cannot start while they are taken.
    const start = await json<{ error: { code: string } }>(`/api/v1/environments/${ok[0]!.body.environment!.id}/start`, {
      method: 'POST',
      token: renter.token,
    });
    expect(start.status).toBe(409);
    expect(start.body.error.code).toBe('no_capacity');
    agent.close();
  });
});
