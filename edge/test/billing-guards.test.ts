// Guards as a renter meets them: 402 insufficient_balance, 403 quota_exceeded, and at zero the sweep stops running
// containers (data kept, the reason shown) and queues the balance.zero and environment.stopped webhooks.
import { CMD } from '@remotegpu/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAgent, admin, createHost, drainAllHosts, json, registerUser, unique } from './helpers.ts';

let agent: TestAgent;
let imageId: number;
let n = 0;

beforeAll(async () => {
  await drainAllHosts();
  const host = await createHost();
  agent = await TestAgent.connect(host.token, {
    onCommand: async (cmd) => {
      if (cmd.name === CMD.containerCreate) {
        n++;
        return { ok: true, data: { container_id: `g${n}`, ip: `172.31.10.${n}`, host_key: null } };
      }
      if (cmd.name === CMD.containerStop) return { ok: true, data: { state: 'exited' } };
      return { ok: true, data: { state: 'running', ip: '172.31.10.200' } };
    },
  });
  await agent.ready();
  const img = await json<{ image: { id: number } }>('/api/v1/admin/images', {
    token: await admin(),
    body: { name: unique('guard-'), docker_ref: 'remotegpu/busybox:latest', hourly_price: 2.5 },
  });
  imageId = img.body.image.id;
});
afterAll(() => agent.close());

const create = (token: string, gpus = 1) =>
  json<{ environment: { id: string; status: string }; error: { code: string; message: string } }>(
    '/api/v1/environments',
    {
      token,
      body: { name: unique('g'), image_id: imageId, gpu_count: gpus, cpu_cores: 1, memory_gb: 1 },
    },
  );

async function setBalance(user: { id: string; token: string }, target: number) {
  const now = await json<{ balance: number }>('/api/v1/billing/balance', { token: user.token });
  const delta = target - now.body.balance;
  if (delta === 0) return;
  const r = await json(`/api/v1/admin/accounts/${user.id}/credits`, {
    token: await admin(),
    body: { amount: delta, kind: 'adjustment', description: 'test' },
  });
  expect(r.status).toBe(201);
}

describe('balance guards and quotas', () => {
  it('create needs an hour of the price in the balance: 402 insufficient_balance, nothing created', async () => {
    const user = await registerUser();
    await setBalance(user, 249); // 2.50 an hour = 250 fen
    const r = await create(user.token);
    expect(r.status).toBe(402);
    expect(r.body.error.code).toBe('insufficient_balance');
    expect(r.body.error.message).toContain('2.50 CNY');
    const list = await json<{ items: unknown[] }>('/api/v1/environments', { token: user.token });
    expect(list.body.items).toHaveLength(0);
    await setBalance(user, 250);
    expect((await create(user.token)).status).toBe(201);
  }, 30_000);

  it('admin quotas: environments at once and GPUs at once, 403 quota_exceeded', async () => {
    const user = await registerUser();
    const q = await json(`/api/v1/admin/accounts/${user.id}/quota`, {
      method: 'PUT',
      token: await admin(),
      body: { max_environments: 2, max_gpus: 2 },
    });
    expect(q.body).toEqual({ max_environments: 2, max_gpus: 2 });
    const tooMany = await create(user.token, 3);
    expect(tooMany.status).toBe(403);
    expect(tooMany.body.error.code).toBe('quota_exceeded');
    expect((await create(user.token, 1)).status).toBe(201);
    expect((await create(user.token, 1)).status).toBe(201);
    const third = await create(user.token, 0);
    expect(third.status).toBe(403);
    expect(third.body.error.message).toContain('2 environment');
    const bad = await json(`/api/v1/admin/accounts/${user.id}/quota`, {
      method: 'PUT',
      token: await admin(),
      body: { max_gpus: -1 },
    });
    expect(bad.status).toBe(422);
  }, 30_000);

  it('at zero the sweep stops running containers with the reason, start is refused, and webhooks are queued', async () => {
    const user = await registerUser();
    const env = (await create(user.token)).body.environment;
    expect(env.status).toBe('running');
    const hook = await json<{ id: string; secret: string }>('/api/v1/webhooks', {
      token: user.token,
      body: { url: 'http://127.0.0.1:28001/hook', events: ['balance.zero', 'environment.stopped'] },
    });
    expect(hook.status).toBe(201);
    expect(hook.body.secret).toMatch(/^whsec_/);
    await setBalance(user, 0);
    const sweep = await json<{ stopped: string[] }>('/api/v1/admin/billing/sweep', {
      method: 'POST',
      token: await admin(),
    });
    expect(sweep.body.stopped).toContain(env.id);
    const after = await json<{ environment: { status: string; status_reason: string } }>(
      `/api/v1/environments/${env.id}`,
      {
        token: user.token,
      },
    );
    expect(after.body.environment.status).toBe('stopped');
    expect(after.body.environment.status_reason).toMatch(/balance reached zero.*data is kept/);
    // Stopped, not removed: the container is still there to start again.
    expect(agent.commands.some((c) => c.name === CMD.containerRemove)).toBe(false);
    const start = await json<{ error: { code: string } }>(`/api/v1/environments/${env.id}/start`, {
      method: 'POST',
      token: user.token,
    });
    expect(start.status).toBe(402);
    expect(start.body.error.code).toBe('insufficient_balance');
    const log = await json<{ items: { event: string }[] }>(`/api/v1/webhooks/${hook.body.id}/deliveries`, {
      token: user.token,
    });
    expect(log.body.items.map((d) => d.event).sort()).toEqual(['balance.zero', 'environment.stopped']);
    // Another renter cannot read that log.
    const other = await registerUser();
    expect((await json(`/api/v1/webhooks/${hook.body.id}/deliveries`, { token: other.token })).status).toBe(404);
  }, 30_000);
});
