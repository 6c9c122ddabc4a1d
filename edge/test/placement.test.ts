// Placement across several relays: GPUs by model, the pack policy, no GPU twice under concurrency, the GPU market,
// and a lost relay's environments shown as unreachable (and skipped) until it returns.
import { CMD, type HostInventory } from '@remotegpu/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../dev/src/until.ts';
import { INVENTORY, TestAgent, admin, createHost, drainAllHosts, json, registerUser, unique } from './helpers.ts';

const RTX = 'NVIDIA GeForce RTX 4090';
const H100 = 'NVIDIA H100 80GB HBM3';
const inventory = (groups: [string, number][]): HostInventory => {
  const gpus: HostInventory['gpus'] = [];
  for (const [name, n] of groups)
    for (let i = 0; i < n; i++)
      gpus.push({ index: gpus.length, uuid: `GPU-${unique()}`, name, memory_mib: name === RTX ? 24564 : 81559 });
  return { ...INVENTORY, gpus };
};

interface Env {
  id: string;
  host_id: string;
  gpu_model: string | null;
  unreachable: { reason: string; since: string } | null;
}

describe('placement across relays', () => {
  const hosts: { id: string; token: string; name: string; agent: TestAgent }[] = [];
  const created = new Map<string, number[]>(); // env id → devices, from the relays' create commands
  let imageId: number;
  let renter: { token: string };

  const connect = async (token: string, inv: HostInventory) => {
    let n = 0;
    const agent = await TestAgent.connect(token, {
      inventory: inv,
      onCommand: async (cmd) => {
        if (cmd.name === CMD.containerCreate) {
          const a = cmd.args as { environment_id: string; gpu_devices: number[] };
          created.set(a.environment_id, a.gpu_devices);
          await new Promise((r) => setTimeout(r, 30));
          n++;
          return { ok: true, data: { container_id: `p${n}`, ip: `172.31.7.${n}`, host_key: null } };
        }
        return { ok: true, data: { state: 'removed' } };
      },
    });
    await agent.ready();
    return agent;
  };

  beforeAll(async () => {
    await drainAllHosts();
    // Enrolled in this order: host 0 is the oldest, so pack fills it first among equals.
    for (const inv of [inventory([[RTX, 2]]), inventory([[H100, 8]]), inventory([[RTX, 2]])]) {
      const h = await createHost();
      const list = await json<{ items: { id: string; name: string }[] }>('/api/v1/admin/hosts', {
        token: await admin(),
      });
      hosts.push({ ...h, name: list.body.items.find((x) => x.id === h.id)!.name, agent: await connect(h.token, inv) });
    }
    const img = await json<{ image: { id: number } }>('/api/v1/admin/images', {
      token: await admin(),
      body: { name: unique('place-'), docker_ref: 'p:1', hourly_price: 1 },
    });
    imageId = img.body.image.id;
    renter = await registerUser();
  });
  afterAll(() => {
    for (const h of hosts) h.agent.close();
  });

  const create = (body: Record<string, unknown>) =>
    json<{ environment?: Env; error?: { code: string; message: string } }>('/api/v1/environments', {
      token: renter.token,
      body: { name: unique('e-'), image_id: imageId, cpu_cores: 1, memory_gb: 1, ...body },
    });

  it('the market shows the GPUs each relay can offer now, per model', async () => {
    const m = await json<{ hosts: { host: string; gpu_model: string; total: number; free: number }[] }>(
      '/api/v1/market/gpus',
      { token: renter.token },
    );
    expect(m.status).toBe(200);
    const mine = m.body.hosts.filter((o) => hosts.some((h) => h.name === o.host));
    expect(mine).toEqual([
      expect.objectContaining({ host: hosts[0]!.name, gpu_model: RTX, total: 2, free: 2 }),
      expect.objectContaining({ host: hosts[1]!.name, gpu_model: H100, total: 8, free: 8 }),
      expect.objectContaining({ host: hosts[2]!.name, gpu_model: RTX, total: 2, free: 2 }),
    ]);
  });

  it('refuses a model nobody has, and a model without GPUs, changing nothing', async () => {
    const none = await create({ gpu_count: 1, gpu_model: 'NVIDIA B200' });
    expect(none.status).toBe(409);
    expect(none.body.error).toMatchObject({ code: 'no_capacity' });
    expect(none.body.error!.message).toContain('NVIDIA B200');
    const bad = await create({ gpu_count: 0, gpu_model: RTX });
    expect(bad.status).toBe(422);
    expect(bad.body.error!.message).toMatch(/gpu_model/);
    expect(created.size).toBe(0);
  });

  it('places by model and packs: the first host fills before the next; concurrent creates never share a GPU', async () => {
    const h100 = await create({ gpu_count: 4, gpu_model: H100 });
    expect(h100.status).toBe(201);
    expect(h100.body.environment).toMatchObject({ host_id: hosts[1]!.id, gpu_model: H100 });
    const first = await create({ gpu_count: 1, gpu_model: RTX.toLowerCase() });
    expect(first.body.environment).toMatchObject({ host_id: hosts[0]!.id, gpu_model: RTX });
    // Pack: the next one goes to the host already in use, not to the empty one.
    const second = await create({ gpu_count: 1, gpu_model: RTX });
    expect(second.body.environment?.host_id).toBe(hosts[0]!.id);
    // Six at once for the two RTX GPUs left (on host 2): exactly two get them.
    const burst = await Promise.all(Array.from({ length: 6 }, () => create({ gpu_count: 1, gpu_model: RTX })));
    const won = burst.filter((r) => r.status === 201);
    expect(won).toHaveLength(2);
    for (const r of burst.filter((x) => x.status !== 201)) expect(r.body.error?.code).toBe('no_capacity');
    for (const r of won) expect(r.body.environment?.host_id).toBe(hosts[2]!.id);
    // No device twice on any host.
    const envs = [h100, first, second, ...won].map((r) => r.body.environment!);
    for (const h of hosts) {
      const devs = envs.filter((e) => e.host_id === h.id).flatMap((e) => created.get(e.id)!);
      expect(new Set(devs).size).toBe(devs.length);
    }
    const m = await json<{ models: { gpu_model: string; total: number; free: number }[] }>('/api/v1/market/gpus', {
      token: renter.token,
    });
    expect(m.body.models.find((x) => x.gpu_model === RTX)).toMatchObject({ free: 0 });
  });

  it("a lost relay's environments show unreachable within 10 s, it is skipped, and its return clears them", async () => {
    const lost = hosts[1]!;
    const env = (await create({ gpu_count: 2, gpu_model: H100 })).body.environment!;
    expect(env).toMatchObject({ host_id: lost.id, unreachable: null });
    const t0 = Date.now();
    lost.agent.close();
    const seen = await until(
      'the environment to show unreachable',
      async () => {
        const e = await json<{ environment: Env }>(`/api/v1/environments/${env.id}`, { token: renter.token });
        return e.body.environment.unreachable ? e.body.environment : null;
      },
      { timeout: 10_000 },
    );
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(seen.unreachable!.reason).toMatch(/relay is offline/);
    expect(Date.parse(seen.unreachable!.since)).toBeGreaterThan(t0 - 2000);
    const list = await json<{ items: Env[] }>('/api/v1/environments', { token: renter.token });
    expect(list.body.items.find((e) => e.id === env.id)?.unreachable).not.toBeNull();
    // The admin fleet view says so, with the reason; the others are unaffected.
    const fleet = await json<{
      items: {
        id: string;
        status: string;
        offline_reason: string | null;
        agent_version: string;
        gpus: { gpu_model: string; used: number; free: number }[];
        environments: { running: number };
      }[];
    }>('/api/v1/admin/fleet', { token: await admin() });
    const row = fleet.body.items.find((h) => h.id === lost.id)!;
    expect(row).toMatchObject({ status: 'offline', agent_version: '0.0.0-test', environments: { running: 2 } });
    expect(row.offline_reason).toMatch(/closed/);
    expect(row.gpus).toEqual([{ gpu_model: H100, total: 8, used: 6, free: 2 }]);
    expect(fleet.body.items.find((h) => h.id === hosts[0]!.id)).toMatchObject({
      status: 'online',
      offline_reason: null,
      gpus: [{ gpu_model: RTX, total: 2, used: 2, free: 0 }],
    });
    // The scheduler skips it: no H100 anywhere else.
    const skipped = await create({ gpu_count: 1, gpu_model: H100 });
    expect(skipped.status).toBe(409);
    // It comes back: the state clears.
    lost.agent = await connect(lost.token, inventory([[H100, 8]]));
    const back = await json<{ environment: Env }>(`/api/v1/environments/${env.id}`, { token: renter.token });
    expect(back.body.environment.unreachable).toBeNull();
  });
});
