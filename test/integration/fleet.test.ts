// A local fleet end to end: the edge and 3 relay agents in 3 network namespaces with fake GPU inventories; placement
// by model and policy, no GPU twice (docker inspect), SSH names resolved with dig and logged into through each relay,
// a relay killed and restarted, evacuation (the name follows the environment).
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet, type FleetRelay } from '../../dev/src/fleet.ts';
import { until } from '../../dev/src/until.ts';
import { startPlatform, type Platform } from '../support/platform.ts';
import { docker, loadServices } from '../support/services.ts';
import { sshPassword } from '../support/ssh-login.ts';

const run = promisify(execFile);
/** SSH names `<envid>.ssh.fleet.test`, kept by the edge in the Cloudflare DNS stand-in. */
const SSH_DOMAIN = 'fleet.test';
const RTX = 'NVIDIA GeForce RTX 4090';
const H100 = 'NVIDIA H100 80GB HBM3';

interface Env {
  id: string;
  name: string;
  host_id: string;
  status: string;
  ssh_host: string;
  ssh_port: number;
  container_id: string | null;
  gpu_model: string | null;
  unreachable: { reason: string; since: string } | null;
}
interface Access {
  ssh_host: string;
  ssh_port: number;
  ssh_username: string;
  ssh_password: string;
}

describe('a fleet of three fake GPU hosts in network namespaces', () => {
  let p: Platform;
  let fleet: Fleet;
  let renter: string;
  let image: number;
  const dir = mkdtempSync(join(tmpdir(), 'fleet-it-'));
  const envs: Env[] = [];

  const relay = (i: number): FleetRelay => fleet.relays[i - 1]!;
  const hostOf = (e: Env) => fleet.relays.find((r) => r.hostId === e.host_id)!;
  const get = async (id: string) =>
    (await p.api<{ environment: Env }>(`/api/v1/environments/${id}`, { token: renter })).body.environment;
  const access = async (id: string) =>
    (await p.api<Access>(`/api/v1/environments/${id}/access`, { token: renter })).body;
  const create = (name: string, gpus: number, model?: string) =>
    p.api<{ environment: Env; error?: { code: string; message: string } }>('/api/v1/environments', {
      token: renter,
      body: {
        name,
        image_id: image,
        gpu_count: gpus,
        ...(model ? { gpu_model: model } : {}),
        cpu_cores: 1,
        memory_gb: 1,
      },
    });
  /** The NVIDIA device ids Docker holds for a container. */
  const devices = async (containerId: string) => {
    const [c] = JSON.parse(await docker(['inspect', containerId])) as {
      HostConfig: { DeviceRequests: { Driver: string; DeviceIDs: string[] }[] | null };
    }[];
    return c!.HostConfig.DeviceRequests ?? [];
  };
  /** `dig @127.0.0.1 -p <port> +short <name>`: a real resolver asking the DNS stand-in. */
  const dig = async (name: string) => {
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(p.dns!.dnsPort), '+short', name]);
    return stdout.trim().split('\n').filter(Boolean);
  };
  /** Resolves the access info's SSH name with dig and logs in to the answer, as a renter's ssh would. */
  const sshPasswordTo = async (id: string, command: string) => {
    const a = await access(id);
    const [address] = await dig(a.ssh_host);
    return sshPassword({ ...a, ssh_host: address! }, command);
  };
  const login = async (id: string) => {
    const a = await access(id);
    expect(a.ssh_host).toBe(`${id}.ssh.${SSH_DOMAIN}`);
    const [address] = await dig(a.ssh_host);
    return sshPassword({ ...a, ssh_host: address! }, 'hostname');
  };

  beforeAll(async () => {
    p = await startPlatform({ sshDomain: SSH_DOMAIN });
    fleet = await startFleet(p, {
      netId: 26,
      portBase: 26100,
      hosts: [[{ model: RTX, count: 4 }], [{ model: H100, count: 8 }], [{ model: RTX, count: 4 }]],
      stateDir: dir,
      docker: loadServices().dockerHost,
      logLevel: 'warn',
      stdio: ['ignore', 'ignore', process.env.AGENT_TEST_LOG ? 'inherit' : 'ignore'],
    });
    await fleet.ready();
    renter = await p.renter();
    const img = await p.api<{ image: { id: number } }>('/api/v1/admin/images', {
      token: await p.admin(),
      body: { name: 'busybox:fleet', docker_ref: loadServices().busyboxImage, hourly_price: 1 },
    });
    image = img.body.image.id;
  }, 180_000);

  afterAll(async () => {
    await fleet?.close();
    await p?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('each host reports its fake GPUs; the market shows them', async () => {
    const m = await p.api<{ hosts: { host: string; gpu_model: string; total: number; free: number }[] }>(
      '/api/v1/market/gpus',
      { token: renter },
    );
    expect(m.body.hosts).toEqual([
      expect.objectContaining({ host: 'gpu-host-1', gpu_model: RTX, total: 4, free: 4 }),
      expect.objectContaining({ host: 'gpu-host-2', gpu_model: H100, total: 8, free: 8 }),
      expect.objectContaining({ host: 'gpu-host-3', gpu_model: RTX, total: 4, free: 4 }),
    ]);
  });

  it('12 environments asking for models are packed host by host, never sharing a GPU, and each takes SSH through its relay', async () => {
    const t0 = Date.now();
    for (let i = 0; i < 6; i++) {
      const r = await create(`rtx-${i}`, 1, RTX);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      envs.push(r.body.environment);
    }
    // H100s in parallel: the race for devices is settled by the edge.
    const h100 = await Promise.all(Array.from({ length: 6 }, (_, i) => create(`h100-${i}`, 1, H100)));
    for (const r of h100) {
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      envs.push(r.body.environment);
    }
    // Pack: host 1 fills (4 RTX) before host 3 gets the rest; all H100s on host 2.
    expect(envs.slice(0, 4).map((e) => hostOf(e).index)).toEqual([1, 1, 1, 1]);
    expect(envs.slice(4, 6).map((e) => hostOf(e).index)).toEqual([3, 3]);
    expect(envs.slice(6).every((e) => hostOf(e).index === 2 && e.gpu_model === H100)).toBe(true);
    for (const e of envs) {
      expect(e.status).toBe('running');
      // The SSH name follows the environment: it resolves to the relay that holds it.
      expect(e.ssh_host).toBe(`${e.id}.ssh.${SSH_DOMAIN}`);
      expect(await dig(e.ssh_host)).toEqual([hostOf(e).address]);
      const [lo, hi] = hostOf(e).sshPorts.split('-').map(Number);
      expect(e.ssh_port).toBeGreaterThanOrEqual(lo!);
      expect(e.ssh_port).toBeLessThanOrEqual(hi!);
    }
    // docker inspect: one NVIDIA device request per container, no device id twice on a host.
    const byHost = new Map<number, string[]>();
    for (const e of envs) {
      const reqs = await devices(e.container_id!);
      expect(reqs).toEqual([expect.objectContaining({ Driver: 'nvidia', DeviceIDs: [expect.any(String)] })]);
      byHost.set(hostOf(e).index, [...(byHost.get(hostOf(e).index) ?? []), ...reqs[0]!.DeviceIDs]);
    }
    for (const [, ids] of byHost) expect(new Set(ids).size).toBe(ids.length);
    expect(byHost.get(2)).toHaveLength(6);
    // SSH to every one through its own relay (its own address in its own namespace).
    const logins = await Promise.all(envs.map((e) => login(e.id)));
    for (const [i, r] of logins.entries()) expect(r, r.stderr).toMatchObject({ code: 0, stdout: `${envs[i]!.id}\n` });
    console.log(`fleet: 12 environments created and logged into in ${Date.now() - t0} ms`);
  });

  it('a killed relay: its environments unreachable within 10 s, the others unaffected, creates go to live hosts; back: all reachable', async () => {
    const dead = relay(3);
    const mine = envs.filter((e) => hostOf(e) === dead);
    const others = envs.filter((e) => hostOf(e) !== dead);
    // One app port made public, to see what a browser gets while the relay is away.
    expect(
      (
        await p.api(`/api/v1/environments/${mine[0]!.id}/apps/8080`, {
          method: 'PUT',
          token: renter,
          body: { public: true },
        })
      ).status,
    ).toBe(200);
    const t0 = Date.now();
    dead.kill();
    for (const e of mine) {
      const seen = await until('unreachable', async () => (await get(e.id)).unreachable, { timeout: 10_000 });
      expect(seen.reason).toMatch(/relay is offline/);
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
    for (const e of others) expect((await get(e.id)).unreachable).toBeNull();
    expect(await login(others[0]!.id)).toMatchObject({ code: 0 });
    const page = await appGet(p.port, `${mine[0]!.id}-8080.container.localhost`);
    expect(page.status).toBe(502);
    expect(page.body).toContain('its relay is offline');
    // The scheduler skips the dead host: its free RTX GPUs are not offered, H100 and CPU-only go to live hosts.
    expect((await create('rtx-late', 1, RTX)).status).toBe(409);
    const late = await create('h100-late', 1, H100);
    expect(late.status).toBe(201);
    expect(hostOf(late.body.environment).index).toBe(2);
    const cpu = await create('cpu-late', 0);
    expect(cpu.status).toBe(201);
    expect(hostOf(cpu.body.environment).index).not.toBe(3);
    envs.push(late.body.environment, cpu.body.environment);
    const fleetView = await p.api<{ items: { name: string; status: string; offline_reason: string | null }[] }>(
      '/api/v1/admin/fleet',
      { token: await p.admin() },
    );
    expect(fleetView.body.items.find((h) => h.name === dead.name)).toMatchObject({ status: 'offline' });
    // The relay comes back: everything reachable again, SSH included.
    dead.start();
    for (const e of mine)
      await until('reachable again', async () => (await get(e.id)).unreachable === null, { timeout: 30_000 });
    for (const e of mine) expect(await login(e.id)).toMatchObject({ code: 0, stdout: `${e.id}\n` });
    // DNS still right for every environment.
    for (const e of envs) expect(await dig(`${e.id}.ssh.${SSH_DOMAIN}`)).toEqual([hostOf(e).address]);
  });

  it('evacuating a drained host moves its stopped environments: same id, name and password, a new port, SSH on the new host', async () => {
    const from = relay(3);
    const to = relay(1);
    const onFrom = envs.filter((e) => hostOf(e) === from);
    expect(onFrom).toHaveLength(2);
    // One of them has data in its volume: data volumes do not move between hosts yet, so it must stay.
    const [keeper, ...moving] = onFrom as [Env, ...Env[]];
    expect(await sshPasswordTo(keeper.id, 'echo kept > /root/data/file && cat /root/data/file')).toMatchObject({
      code: 0,
      stdout: 'kept\n',
    });
    const admin = await p.admin();
    // Room for them on host 1 (the only other RTX host).
    for (const e of envs.filter((x) => hostOf(x) === to && x.gpu_model === RTX).slice(0, 2))
      expect((await p.api(`/api/v1/environments/${e.id}`, { method: 'DELETE', token: renter })).status).toBe(204);
    const before = new Map<string, Access>();
    for (const e of onFrom) {
      expect((await p.api(`/api/v1/environments/${e.id}/stop`, { method: 'POST', token: renter })).status).toBe(200);
      before.set(e.id, await access(e.id));
    }
    const undrained = await p.api<{ error: { code: string } }>(`/api/v1/admin/hosts/${from.hostId}/evacuate`, {
      method: 'POST',
      token: admin,
    });
    expect(undrained.status).toBe(409);
    expect(undrained.body.error.code).toBe('host_not_drained');
    await p.api(`/api/v1/admin/hosts/${from.hostId}`, { method: 'PATCH', token: admin, body: { drained: true } });
    const r = await p.api<{
      moved: { environment_id: string; host_id: string; ssh_port: number }[];
      skipped: unknown[];
    }>(`/api/v1/admin/hosts/${from.hostId}/evacuate`, { method: 'POST', token: admin });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.skipped).toEqual([
      { environment_id: keeper.id, reason: expect.stringMatching(/data volume holds \d+ bytes/) },
    ]);
    expect(await get(keeper.id)).toMatchObject({ host_id: from.hostId, status: 'stopped' });
    expect(r.body.moved.map((m) => m.environment_id).sort()).toEqual(moving.map((e) => e.id).sort());
    for (const e of moving) {
      const moved = await get(e.id);
      expect(moved).toMatchObject({
        id: e.id,
        name: e.name,
        status: 'stopped',
        host_id: to.hostId,
        ssh_host: `${e.id}.ssh.${SSH_DOMAIN}`,
      });
      // The DNS record moved with it.
      expect(await dig(moved.ssh_host)).toEqual([to.address]);
      const [lo, hi] = to.sshPorts.split('-').map(Number);
      expect(moved.ssh_port).toBeGreaterThanOrEqual(lo!);
      expect(moved.ssh_port).toBeLessThanOrEqual(hi!);
      expect((await p.api(`/api/v1/environments/${e.id}/start`, { method: 'POST', token: renter })).status).toBe(200);
      const a = await access(e.id);
      expect(a.ssh_password).toBe(before.get(e.id)!.ssh_password);
      expect(await login(e.id)).toMatchObject({ code: 0, stdout: `${e.id}\n` });
      const started = await get(e.id);
      expect(await devices(started.container_id!)).toEqual([
        expect.objectContaining({ Driver: 'nvidia', DeviceIDs: [expect.any(String)] }),
      ]);
    }
    // Nothing of theirs is left on the old host.
    const left = await docker(['ps', '-aq', '--filter', `label=remotegpu.env=${moving[0]!.id}`]);
    expect(left.trim().split('\n').filter(Boolean)).toHaveLength(1);
  });
});

/** GET http://127.0.0.1:<port>/ with an app Host header (undici's fetch would drop it), as a browser asks. */
function appGet(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host, accept: 'text/html' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
