// The agent against the real private dockerd through a fake edge: create/stop/start/remove, idempotency, rights, isolation, GPUs.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CMD, MSG } from '@remotegpu/schema';
import type { ContainerCreateArgs, ContainerCreateResult, Hello } from '@remotegpu/schema';
import { docker, loadServices } from '../../test/support/services.ts';
import { KEEPALIVE_CMD } from '../src/docker/container-spec.ts';
import { RUN, cleanupRun, containersOf, envId, inspect, ok, startHarness } from './agent/harness.ts';
import { until } from '../../dev/src/until.ts';
import { writeFakeGpus } from '../../dev/src/fake-gpus.ts';
import type { NvidiaSmi } from '../src/inventory/nvidia-smi.ts';
import type { Harness } from './agent/harness.ts';

let h: Harness;
const services = loadServices();

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
  await cleanupRun();
});

const createArgs = (over: Partial<ContainerCreateArgs> = {}): ContainerCreateArgs => ({
  environment_id: envId(),
  request_id: `req-${envId()}`,
  owner_id: `${RUN}-alice`,
  image: services.busyboxImage,
  has_sshd: false,
  gpu_devices: [],
  cpu_cores: 1,
  memory_gb: 1,
  ...over,
});

async function create(over: Partial<ContainerCreateArgs> = {}) {
  const args = createArgs(over);
  const res = ok<ContainerCreateResult>(await h.edge.command(CMD.containerCreate, args));
  return { args, res };
}

/** Can `from` fetch busybox httpd on `ip`:8080? Tested from inside the container. */
async function canReach(from: string, ip: string): Promise<boolean> {
  const out = await docker([
    'exec',
    from,
    'sh',
    '-c',
    `timeout 3 wget -q -O- http://${ip}:8080/ >/dev/null 2>&1 && echo yes || echo no`,
  ]);
  return out.trim() === 'yes';
}

describe('container lifecycle through the tunnel', () => {
  it('create: docker inspect shows the limits, labels, network and security options', async () => {
    const { args, res } = await create({ cpu_cores: 2, memory_gb: 1 });
    expect(res.container_id).toMatch(/^[0-9a-f]{64}$/);
    expect(res.ip).toMatch(/^172\.\d+\.\d+\.\d+$/);
    expect(res.host_key ?? null).toBeNull();
    const c = await inspect(res.container_id);
    const net = `remotegpu-u-${args.owner_id}`;
    expect(c.State.Running).toBe(true);
    expect(c.Name).toBe(`/remotegpu-${args.environment_id}`);
    expect(c.Config.Labels).toMatchObject({
      'remotegpu.env': args.environment_id,
      'remotegpu.owner': args.owner_id,
      'remotegpu.request': args.request_id,
    });
    expect(c.HostConfig).toMatchObject({
      Memory: 1024 ** 3,
      MemorySwap: 1024 ** 3,
      NanoCpus: 2e9,
      PidsLimit: 4096,
      Init: true,
      Privileged: false,
      NetworkMode: net,
    });
    expect(c.HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
    expect(c.HostConfig.CapDrop).toEqual(expect.arrayContaining(['NET_RAW', 'MKNOD']));
    // Never a host path: the one mount is the environment's own named data volume at the default data path.
    expect(c.HostConfig.Binds ?? []).toEqual([]);
    expect(c.Mounts).toEqual([
      expect.objectContaining({
        Type: 'volume',
        Name: `remotegpu-data-${args.environment_id}`,
        Destination: '/root/data',
      }),
    ]);
    expect(c.Config.Cmd).toEqual(KEEPALIVE_CMD); // busybox's CMD is a bare shell
    expect(c.NetworkSettings.Networks[net]?.IPAddress).toBe(res.ip);
    expect(Object.keys(c.NetworkSettings.Networks)).toEqual([net]);
    const netInfo = JSON.parse(await docker(['network', 'inspect', net])) as {
      Labels: Record<string, string>;
      Driver: string;
    }[];
    expect(netInfo[0]).toMatchObject({
      Driver: 'bridge',
      Labels: { 'remotegpu.owner': args.owner_id, 'remotegpu.managed': '1' },
    });
    // NET_RAW dropped: no raw sockets (ping) inside.
    const ping = await docker([
      'exec',
      res.container_id,
      'sh',
      '-c',
      'ping -c1 -W1 127.0.0.1 >/dev/null 2>&1 && echo yes || echo no',
    ]);
    expect(ping.trim()).toBe('no');
  });

  it('stop keeps the filesystem, start brings it back, restart works, remove deletes it and the empty network', async () => {
    const owner = `${RUN}-stopper`;
    const { args, res } = await create({ owner_id: owner });
    const action = { environment_id: args.environment_id, container_id: res.container_id };
    await docker(['exec', res.container_id, 'sh', '-c', 'echo kept > /root/marker']);
    expect(ok(await h.edge.command(CMD.containerStop, action))).toEqual({ state: 'exited', ip: null });
    expect((await inspect(res.container_id)).State.Running).toBe(false);
    await h.edge.waitFor(
      (m) =>
        m.type === MSG.event &&
        m.name === 'container.state' &&
        (m.data as { state: string; environment_id: string }).state === 'exited' &&
        (m.data as { environment_id: string }).environment_id === args.environment_id,
    );
    // Idempotent: a second stop is fine.
    expect(ok(await h.edge.command(CMD.containerStop, action))).toMatchObject({ state: 'exited' });
    const started = ok<{ state: string; ip: string }>(await h.edge.command(CMD.containerStart, action));
    expect(started.state).toBe('running');
    expect(started.ip).toMatch(/^172\./);
    expect((await docker(['exec', res.container_id, 'cat', '/root/marker'])).trim()).toBe('kept');
    expect(ok(await h.edge.command(CMD.containerRestart, { ...action, container_id: null }))).toMatchObject({
      state: 'running',
    });
    expect(ok(await h.edge.command(CMD.containerRemove, action))).toEqual({ state: 'removed', ip: null });
    expect(await containersOf(args.environment_id)).toEqual([]);
    expect((await docker(['network', 'ls', '-q', '--filter', `name=^remotegpu-u-${owner}$`])).trim()).toBe('');
    // Removing again is not an error; acting on a removed container is a clear one.
    expect(ok(await h.edge.command(CMD.containerRemove, action))).toMatchObject({ state: 'removed' });
    const gone = await h.edge.command(CMD.containerStart, action);
    expect(gone).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('a retried create with the same request id returns the same container, even concurrently', async () => {
    const args = createArgs();
    const [a, b] = await Promise.all([
      h.edge.command(CMD.containerCreate, args),
      h.edge.command(CMD.containerCreate, args),
    ]);
    const c = await h.edge.command(CMD.containerCreate, args);
    const ids = [a, b, c].map((r) => ok<ContainerCreateResult>(r).container_id);
    expect(new Set(ids).size).toBe(1);
    expect(await containersOf(args.environment_id)).toEqual([ids[0]]);
    // Another request for the same environment is refused rather than making a second container.
    const other = await h.edge.command(CMD.containerCreate, { ...args, request_id: 'req-other' });
    expect(other).toMatchObject({ ok: false, error: { code: 'env_exists' } });
  });

  it("two owners' containers cannot reach each other; the same owner's can", async () => {
    const a1 = await create({ owner_id: `${RUN}-a` });
    const a2 = await create({ owner_id: `${RUN}-a` });
    const b1 = await create({ owner_id: `${RUN}-b` });
    for (const c of [a1, a2, b1]) await docker(['exec', c.res.container_id, 'httpd', '-p', '8080', '-h', '/www']);
    expect(await canReach(a1.res.container_id, a2.res.ip)).toBe(true);
    expect(await canReach(a2.res.container_id, a1.res.ip)).toBe(true);
    expect(await canReach(b1.res.container_id, a1.res.ip)).toBe(false);
    expect(await canReach(a1.res.container_id, b1.res.ip)).toBe(false);
  });

  it('a GPU request on a host without the NVIDIA runtime fails clearly and creates nothing', async () => {
    const args = createArgs({ gpu_devices: [0] });
    const r = await h.edge.command(CMD.containerCreate, args);
    expect(r).toMatchObject({ ok: false, error: { code: 'gpu_unavailable', retryable: false } });
    if (!r.ok) expect(r.error.message).toMatch(/NVIDIA runtime/);
    expect(await containersOf(args.environment_id)).toEqual([]);
  });

  it('with --fake-gpus and fake nvidia-smi GPUs, the container carries the NVIDIA device request and runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpu-it-'));
    const fake = await writeFakeGpus(dir, 'driver-test', [{ model: 'NVIDIA GeForce RTX 4090', count: 4 }]);
    const smi: NvidiaSmi = (a) =>
      new Promise((done) => execFile(join(fake.binDir, 'nvidia-smi'), a, (err, out) => done(err ? null : out)));
    const g = await startHarness({ nvidiaSmi: smi }, { fakeGpus: true });
    try {
      const hello = g.edge.hellos[0]!;
      expect(hello.inventory?.nvidia_runtime).toBe(true);
      expect(hello.inventory?.gpus.map((x) => x.name)).toEqual(Array(4).fill('NVIDIA GeForce RTX 4090'));
      const args = createArgs({ gpu_devices: [1, 3] });
      const res = ok<ContainerCreateResult>(await g.edge.command(CMD.containerCreate, args));
      const c = await inspect(res.container_id);
      expect(c.State.Running).toBe(true);
      expect(c.HostConfig.DeviceRequests).toEqual([
        expect.objectContaining({ Driver: 'nvidia', DeviceIDs: ['1', '3'], Capabilities: [['gpu']] }),
      ]);
      // A device this host does not have is still refused.
      const bad = await g.edge.command(CMD.containerCreate, createArgs({ gpu_devices: [7] }));
      expect(bad).toMatchObject({ ok: false, error: { code: 'gpu_unavailable' } });
    } finally {
      await g.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an sshd image gets the relay key and answers with the pinned host key', async () => {
    const { res } = await create({ image: services.sshdImage, has_sshd: true });
    const expected = readFileSync(join(services.dir, 'images', 'ssh_host_ed25519_key.pub'), 'utf8')
      .split(' ')
      .slice(0, 2)
      .join(' ');
    expect(res.host_key).toBe(expected);
    const keys = await until(
      'the relay key in authorized_keys',
      async () => {
        const k = await docker(['exec', res.container_id, 'cat', '/root/.ssh/authorized_keys']);
        return k.includes('remotegpu-relay') ? k : null;
      },
      { timeout: 5000 },
    );
    expect(keys).toContain(h.agent.store.getSync('platform_ed25519.public')!.trim().split(' ').slice(0, 2).join(' '));
  });

  it('reports its containers in the next hello for reconciliation', async () => {
    const { args, res } = await create();
    await docker(['stop', '-t', '1', res.container_id]);
    h.edge.dropAll();
    const hello = (await h.edge.waitFor((m, conn) => conn > 1 && m.type === MSG.hello)) as Hello;
    const mine = hello.containers?.find((c) => c.environment_id === args.environment_id);
    expect(mine).toMatchObject({ container_id: res.container_id, state: 'exited', ip: null });
    expect(typeof mine?.exit_code).toBe('number');
    expect(hello.inventory).toMatchObject({ nvidia_runtime: false, gpus: [] });
    expect(hello.inventory?.docker_version).toMatch(/^\d+\./);
    await h.agent.tunnel.whenConnected();
  });

  it('metrics of a running container agree with docker stats', async () => {
    const { args, res } = await create({ cpu_cores: 1, memory_gb: 1 });
    await docker(['exec', '-d', res.container_id, 'sh', '-c', 'while :; do :; done']);
    await new Promise((r) => setTimeout(r, 2500));
    const stats = JSON.parse(await docker(['stats', '--no-stream', '--format', '{{json .}}', res.container_id])) as {
      CPUPerc: string;
      MemUsage: string;
    };
    const since = h.edge.received.length;
    const sample = await until(
      'a metrics sample',
      async () => {
        const evs = h.edge.received.slice(since).filter((r) => r.msg.type === MSG.event && r.msg.name === 'metrics');
        for (const e of evs.reverse()) {
          const s = (e.msg as { data: { samples: { environment_id: string }[] } }).data.samples.find(
            (x) => x.environment_id === args.environment_id,
          );
          if (s)
            return s as unknown as {
              cpu_usage: number;
              memory_used: number;
              memory_limit: number;
              memory_usage: number;
              network_in: number;
              type: string;
            };
        }
        return null;
      },
      { timeout: 15_000 },
    );
    const dockerCpu = Number.parseFloat(stats.CPUPerc);
    const [usedText, limitText] = stats.MemUsage.split(' / ');
    expect(sample.type).toBe('container');
    // One busy loop: both see a clearly busy container. How busy depends on what else the 2-core machine
    // runs at that moment, and the two readings are taken a few seconds apart: hence the wide band.
    expect(dockerCpu).toBeGreaterThan(15);
    expect(sample.cpu_usage).toBeGreaterThan(15);
    expect(Math.abs(sample.cpu_usage - dockerCpu)).toBeLessThan(45);
    expect(limitText).toBe('1GiB');
    expect(sample.memory_limit).toBe(1024 ** 3);
    expect(Math.abs(sample.memory_used - bytes(usedText!))).toBeLessThan(4 * 2 ** 20);
    expect(sample.network_in).toBeGreaterThanOrEqual(0);
  });
});

function bytes(text: string): number {
  const m = /^([\d.]+)\s*([KMG]i?B|B)$/.exec(text.trim());
  if (!m) throw new Error(`cannot parse ${text}`);
  const unit = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 }[m[2]!] ?? 1;
  return Number(m[1]) * unit;
}
