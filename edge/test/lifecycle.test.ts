// No-GPU mode against a fake relay with four GPUs: the GPUs are released while an environment runs without them,
// going back needs them free (409 gpu_unavailable), and each mode is billed at its own price.
import { CMD } from '@remotegpu/schema';
import { describe, expect, it } from 'vitest';
import { TestAgent, admin, createHost, drainAllHosts, json, registerUser, unique } from './helpers.ts';

interface Env {
  id: string;
  gpu_mode: string;
  container_id: string;
}

describe('no-GPU mode (无卡模式)', () => {
  it('releases the GPUs, refuses to take them back while others hold them, and bills each mode at its price', async () => {
    await drainAllHosts();
    const host = await createHost();
    let n = 0;
    const agent = await TestAgent.connect(host.token, {
      onCommand: async (cmd) => {
        if (cmd.name === CMD.containerCreate || cmd.name === CMD.containerRecreate) {
          n++;
          return { ok: true, data: { container_id: `c${n}`, ip: `172.31.9.${n}`, host_key: null } };
        }
        return { ok: true, data: { state: cmd.name === CMD.containerStop ? 'exited' : 'running' } };
      },
    });
    await agent.ready();
    const img = await json<{ image: { id: number } }>('/api/v1/admin/images', {
      token: await admin(),
      body: { name: unique('nogpu-'), docker_ref: 'g:1', hourly_price: 3, no_gpu_hourly_price: 0.3 },
    });
    const renter = await registerUser();
    const create = (name: string) =>
      json<{ environment: Env; error?: { code: string } }>('/api/v1/environments', {
        token: renter.token,
        body: { name, image_id: img.body.image.id, gpu_count: 4, cpu_cores: 4, memory_gb: 8 },
      });
    const post = (path: string, body?: unknown) =>
      json<{ environment: Env; error: { code: string } }>(path, {
        method: 'POST',
        token: renter.token,
        ...(body ? { body } : {}),
      });
    const a = (await create('a')).body.environment;
    expect((await post(`/api/v1/environments/${a.id}/stop`)).status).toBe(200);

    const light = await post(`/api/v1/environments/${a.id}/start`, { gpu: false });
    expect(light.status, JSON.stringify(light.body)).toBe(200);
    expect(light.body.environment.gpu_mode).toBe('none');
    const recreate = agent.commands.filter((c) => c.name === CMD.containerRecreate).at(-1)!.args;
    expect(recreate).toMatchObject({ gpu_devices: [], cpu_cores: 1, memory_gb: 2, keep_system: true });

    // Its four GPUs are free meanwhile: another environment takes them.
    const b = await create('b');
    expect(b.status).toBe(201);
    expect((await post(`/api/v1/environments/${a.id}/stop`)).status).toBe(200);
    const back = await post(`/api/v1/environments/${a.id}/start`);
    expect(back.status).toBe(409);
    expect(back.body.error.code).toBe('gpu_unavailable');
    expect(
      (await json(`/api/v1/environments/${b.body.environment.id}`, { method: 'DELETE', token: renter.token })).status,
    ).toBe(204);
    const again = await post(`/api/v1/environments/${a.id}/start`, { gpu: true });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.environment.gpu_mode).toBe('gpu');
    expect(agent.commands.filter((c) => c.name === CMD.containerRecreate).at(-1)!.args).toMatchObject({
      gpu_devices: [0, 1, 2, 3],
      cpu_cores: 4,
      memory_gb: 8,
      keep_system: true,
    });

    const usage = await json<{ items: { environment_id: string; unit_price: number }[] }>('/api/v1/usage', {
      token: renter.token,
    });
    expect(
      usage.body.items
        .filter((u) => u.environment_id === a.id)
        .reverse()
        .map((u) => u.unit_price),
    ).toEqual([3, 0.3, 3]);
    agent.close();
  }, 30_000);
});
