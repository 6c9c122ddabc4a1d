// The whole platform, end to end: edge in workerd, real relay agent process, real Docker, the real OpenSSH client.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type Platform } from '../support/platform.ts';
import { until } from '../../dev/src/until.ts';
import { docker, loadServices, servicesDir } from '../support/services.ts';
import { freePort } from '../../dev/src/free-port.ts';
import { authorizeOnPhysical, physicalSshd, revokeOnPhysical } from '../../dev/src/physical-keys.ts';
import { sshPassword } from '../support/ssh-login.ts';

const run = promisify(execFile);

interface Access {
  ssh_host: string;
  ssh_port: number;
  ssh_username: string;
  ssh_password: string;
  ssh_command: string;
}

interface Inspect {
  State: { Running: boolean; Status: string };
  Config: { Labels: Record<string, string> };
  HostConfig: {
    Memory: number;
    NanoCpus: number;
    PidsLimit: number;
    Init: boolean;
    Privileged: boolean;
    SecurityOpt: string[] | null;
    CapDrop: string[] | null;
  };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
}
const inspect = async (id: string) => (JSON.parse(await docker(['inspect', id])) as Inspect[])[0]!;

describe('the whole platform', () => {
  let p: Platform;
  let hostId: string;
  let busybox: number;
  let revokeKey: (() => Promise<void>) | null = null;

  beforeAll(async () => {
    loadServices();
    p = await startPlatform();
    const admin = await p.admin();
    const host = await p.api<{ host: { id: string }; token: string; install_command: string }>('/api/v1/admin/hosts', {
      token: admin,
      body: { name: 'it-relay', public_ssh_host: '127.0.0.1' },
    });
    expect(host.status).toBe(201);
    expect(host.body.install_command).toBe(
      `npx @remotegpu/relay-agent --edge ${p.edge.url} --token ${host.body.token}`,
    );
    hostId = host.body.host.id;
    p.spawnAgent(host.body.token, {
      stateDir: mkdtempSync(join(tmpdir(), 'it-agent-')),
      sshListen: `127.0.0.1:${await freePort()}`,
      sshPorts: '23000-23999',
    });
    const img = await p.api<{ image: { id: number } }>('/api/v1/admin/images', {
      token: admin,
      body: { name: 'busybox:it', docker_ref: loadServices().busyboxImage, hourly_price: 0.5 },
    });
    busybox = img.body.image.id;
    await until(
      'the relay online',
      async () => {
        const l = await p.api<{ items: { id: string; status: string }[] }>('/api/v1/admin/hosts', { token: admin });
        return l.body.items.find((i) => i.id === hostId)?.status === 'online';
      },
      { timeout: 30_000 },
    );
  }, 120_000);

  afterAll(async () => {
    await revokeKey?.();
    await p?.close();
  }, 60_000);

  it('an enrolled relay shows online with its inventory, version and keys', async () => {
    const h = await until(
      'the relay online',
      async () => {
        const l = await p.api<{
          items: {
            id: string;
            status: string;
            inventory: { cpu_cores: number; docker_version: string | null; nvidia_runtime: boolean } | null;
            agent_version: string;
            platform_public_key: string | null;
          }[];
        }>('/api/v1/admin/hosts', { token: await p.admin() });
        const x = l.body.items.find((i) => i.id === hostId);
        return x?.status === 'online' ? x : null;
      },
      { timeout: 30_000 },
    );
    expect(h.inventory).toMatchObject({
      cpu_cores: expect.any(Number),
      docker_version: expect.any(String),
      nvidia_runtime: false,
    });
    expect(h.agent_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(h.platform_public_key).toMatch(/^ssh-ed25519 /);
  });

  it('a renter creates a container; Docker shows its limits, labels and network; SSH works; stop/start/delete act on it', async () => {
    const renter = await p.renter();
    const gpu = await p.api<{ error: { code: string; message: string } }>('/api/v1/environments', {
      token: renter,
      body: { name: 'gpu', image_id: busybox, gpu_count: 1, cpu_cores: 1, memory_gb: 1 },
    });
    expect(gpu.status).toBe(409);
    expect(gpu.body.error.message).toMatch(/NVIDIA/);

    const created = await p.api<{ environment: { id: string; status: string; container_id: string } }>(
      '/api/v1/environments',
      { token: renter, body: { name: 'train', image_id: busybox, gpu_count: 0, cpu_cores: 1, memory_gb: 1 } },
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const env = created.body.environment;
    expect(env.status).toBe('running');
    const i = await inspect(env.container_id);
    expect(i.State.Running).toBe(true);
    expect(i.Config.Labels['remotegpu.env']).toBe(env.id);
    expect(i.HostConfig).toMatchObject({ Memory: 1024 ** 3, NanoCpus: 1e9, Init: true, Privileged: false });
    expect(i.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(i.HostConfig.CapDrop).toContain('NET_RAW');
    expect(Object.keys(i.NetworkSettings.Networks)).toEqual([expect.stringMatching(/^remotegpu-u-/)]);

    const access = (await p.api<Access>(`/api/v1/environments/${env.id}/access`, { token: renter })).body;
    const hello = await until(
      'ssh into the container',
      async () => {
        const r = await sshPassword(access, 'echo "hi from $(hostname)"; exit 7');
        return r.code === 7 ? r : null;
      },
      { timeout: 20_000 },
    );
    expect(hello.stdout.trim()).toBe(`hi from ${env.id}`);
    expect((await sshPassword(access, 'true', 'wrong-password-0000000000000000')).code).not.toBe(0);

    // Metrics (every 10 s) reach the API and agree with Docker's own view of the container.
    const metrics = await until(
      'metrics at the API',
      async () => {
        const m = await p.api<{
          latest: {
            memory_used: number;
            memory_limit: number;
            cpu_usage: number;
            network_in: number;
            type: string;
          } | null;
          history: unknown[];
        }>(`/api/v1/environments/${env.id}/metrics`, { token: renter });
        return m.body.latest ? m.body : null;
      },
      { timeout: 30_000 },
    );
    const stats = JSON.parse(await docker(['stats', '--no-stream', '--format', '{{json .}}', env.container_id])) as {
      MemUsage: string;
    };
    expect(metrics.latest!.memory_limit).toBe(1024 ** 3);
    expect(stats.MemUsage).toMatch(/\/ 1GiB$/);
    expect(metrics.latest!.memory_used).toBeGreaterThan(0);
    expect(metrics.latest!.memory_used).toBeLessThan(64 * 1024 ** 2);
    expect(metrics.latest!.type).toBe('container');
    expect(metrics.history.length).toBeGreaterThanOrEqual(1);

    const stopped = await p.api<{ environment: { status: string } }>(`/api/v1/environments/${env.id}/stop`, {
      method: 'POST',
      token: renter,
    });
    expect(stopped.body.environment.status).toBe('stopped');
    expect((await inspect(env.container_id)).State.Running).toBe(false);
    const started = await p.api<{ environment: { status: string } }>(`/api/v1/environments/${env.id}/start`, {
      method: 'POST',
      token: renter,
    });
    expect(started.body.environment.status).toBe('running');
    expect((await inspect(env.container_id)).State.Running).toBe(true);
    await until('ssh after start', async () => (await sshPassword(access, 'exit 0')).code === 0, { timeout: 20_000 });

    const audit = await until(
      'ssh audit events at the edge',
      async () => {
        const r = await p.api<{ items: { event: string; status: string; environment_id: string }[] }>(
          `/api/v1/audit-events?environment_id=${env.id}&event=ssh_login`,
          { token: renter },
        );
        return r.body.items.some((e) => e.status === 'failure') && r.body.items.some((e) => e.status === 'success')
          ? r.body.items
          : null;
      },
      { timeout: 20_000 },
    );
    expect(audit.length).toBeGreaterThanOrEqual(2);

    expect((await p.api(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: renter })).status).toBe(204);
    await expect(docker(['inspect', env.container_id])).rejects.toThrow();
    expect((await sshPassword(access, 'true')).code).toBe(255);
  }, 120_000);

  it("two renters' containers cannot reach each other; one renter's can", async () => {
    const [a, b] = [await p.renter(), await p.renter()];
    const mk = async (token: string, name: string) => {
      const r = await p.api<{ environment: { id: string; target_ip: string } }>('/api/v1/environments', {
        token,
        body: { name, image_id: busybox, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const access = (await p.api<Access>(`/api/v1/environments/${r.body.environment.id}/access`, { token })).body;
      return { ...r.body.environment, access };
    };
    const [a1, a2, b1] = [await mk(a, 'a1'), await mk(a, 'a2'), await mk(b, 'b1')];
    await until(
      'httpd in a1',
      async () => (await sshPassword(a1.access, 'httpd -p 8080 -h /www && echo up')).stdout.includes('up'),
      { timeout: 20_000 },
    );
    const fetchFrom = (env: typeof a1) =>
      sshPassword(env.access, `timeout 3 wget -q -O- http://${a1.target_ip}:8080/ || echo unreachable`);
    expect((await fetchFrom(a2)).stdout).toContain('ok');
    expect((await fetchFrom(b1)).stdout).toContain('unreachable');
    for (const [t, e] of [
      [a, a1],
      [a, a2],
      [b, b1],
    ] as const)
      await p.api(`/api/v1/environments/${e.id}`, { method: 'DELETE', token: t });
  }, 120_000);

  it('a physical machine: rent it, log in through the relay, release it back to the pool', async () => {
    const admin = await p.admin();
    const key = await until(
      "the relay's platform key",
      async () => {
        const hosts = await p.api<{ items: { id: string; platform_public_key: string | null }[] }>(
          '/api/v1/admin/hosts',
          { token: admin },
        );
        return hosts.body.items.find((h) => h.id === hostId)?.platform_public_key;
      },
      { timeout: 30_000 },
    );
    // The operator authorizes the relay's platform key on the machine (sshd reads the file at each login; enrolled_keys
    // keeps it there when the global setup's `services.sh up` rewrites the file).
    const physical = physicalSshd(servicesDir())!;
    await authorizeOnPhysical(physical, key);
    revokeKey = () => revokeOnPhysical(physical, key);
    const s = loadServices();
    const m = await p.api<{ machine: { id: number } }>('/api/v1/admin/machines', {
      token: admin,
      body: {
        name: '北京B区-598机',
        region: '北京B区',
        gpu_model: 'RTX 5090',
        gpu_count: 2,
        gpu_memory: 32,
        cpu_cores: 16,
        memory_gb: 90,
        disk_gb: 5881,
        target_ip: s.physical.host,
        ssh_port: s.physical.port,
        host_id: hostId,
        monthly_price: 6999,
      },
    });
    expect(m.status).toBe(201);
    // The relay read the machine's host key at enrolment: the same key OpenSSH pins for it.
    const known = readFileSync(s.physical.knownHosts, 'utf8').trim().split(/\s+/).slice(1, 3).join(' ');
    expect((m.body as unknown as { machine: { host_key: string } }).machine.host_key).toBe(known);
    const renter = await p.renter();
    const rented = await p.api<{ environment: { id: string }; access: Access }>(
      `/api/v1/market/machines/${m.body.machine.id}/allocate`,
      { token: renter, body: {} },
    );
    expect(rented.status).toBe(201);
    let last: unknown = null;
    const r = await until(
      'ssh into the physical machine',
      async () => {
        const x = await sshPassword(rented.body.access, 'id -un; echo $SSH_CONNECTION');
        last = x;
        return x.code === 0 ? x : null;
      },
      { timeout: 20_000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}`);
    });
    expect(r.stdout.split('\n')[0]).toBe('root');
    const usage = await p.api<{ items: { kind: string; unit_price: number }[] }>('/api/v1/usage', { token: renter });
    expect(usage.body.items).toEqual([expect.objectContaining({ kind: 'monthly', unit_price: 6999 })]);
    expect(
      (await p.api(`/api/v1/environments/${rented.body.environment.id}`, { method: 'DELETE', token: renter })).status,
    ).toBe(204);
    const market = await p.api<{ items: { id: number; status: string }[] }>('/api/v1/market/machines?page_size=100', {
      token: renter,
    });
    expect(market.body.items.find((x) => x.id === m.body.machine.id)?.status).toBe('available');
    expect((await sshPassword(rented.body.access, 'true')).code).toBe(255);
  }, 120_000);

  it('records shell sessions when asked, uploads them through the tunnel, and lists them for the owner only', async () => {
    const renter = await p.renter();
    const r = await p.api<{ environment: { id: string } }>('/api/v1/environments', {
      token: renter,
      body: { name: 'rec', image_id: busybox, gpu_count: 0, cpu_cores: 1, memory_gb: 1, recording: true },
    });
    expect(r.status).toBe(201);
    const id = r.body.environment.id;
    const a = (await p.api<Access>(`/api/v1/environments/${id}/access`, { token: renter })).body;
    // An interactive shell with a PTY, typed into as a person would.
    await until(
      'an interactive session',
      async () => {
        try {
          await run(
            'bash',
            [
              '-c',
              `(sleep 1; echo 'echo recorded-$((6*7))'; sleep 1; echo exit; sleep 1) | sshpass -e ssh -tt -p ${a.ssh_port} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no -o LogLevel=ERROR root@${a.ssh_host}`,
            ],
            { env: { ...process.env, SSHPASS: a.ssh_password }, timeout: 20_000 },
          );
          return true;
        } catch {
          return false;
        }
      },
      { timeout: 30_000 },
    );
    const list = await until(
      'the recording at the edge',
      async () => {
        const l = await p.api<{ items: { id: string; size: number }[] }>(`/api/v1/environments/${id}/recordings`, {
          token: renter,
        });
        return l.body.items.length ? l.body.items : null;
      },
      { timeout: 30_000 },
    );
    const res = await fetch(`${p.edge.url}/api/v1/recordings/${encodeURIComponent(list[0]!.id)}`, {
      headers: { authorization: `Bearer ${renter}` },
    });
    expect(res.status).toBe(200);
    const cast = (await res.text()).split('\n');
    expect(JSON.parse(cast[0]!)).toMatchObject({ version: 2 });
    expect(cast.slice(1).join('\n'), cast.join('\n')).toContain('recorded-42');
    const other = await p.renter();
    expect(
      (
        await fetch(`${p.edge.url}/api/v1/recordings/${encodeURIComponent(list[0]!.id)}`, {
          headers: { authorization: `Bearer ${other}` },
        })
      ).status,
    ).toBe(404);
    await p.api(`/api/v1/environments/${id}`, { method: 'DELETE', token: renter });
  }, 120_000);

  it('with the edge stopped, an existing route still logs in, and those audit events arrive when it is back', async () => {
    const renter = await p.renter();
    const r = await p.api<{ environment: { id: string } }>('/api/v1/environments', {
      token: renter,
      body: { name: 'outage', image_id: busybox, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
    });
    expect(r.status).toBe(201);
    const id = r.body.environment.id;
    const access = (await p.api<Access>(`/api/v1/environments/${id}/access`, { token: renter })).body;
    await until('first login', async () => (await sshPassword(access, 'true')).code === 0, { timeout: 20_000 });
    const port = p.port;
    await p.stopEdge();
    const during = await sshPassword(access, 'echo during-outage');
    expect(during.stdout.trim()).toBe('during-outage');
    await p.startEdge(port);
    const events = await until(
      'audit events from the outage',
      async () => {
        const e = await p.api<{ items: { event: string; status: string; timestamp: string }[] }>(
          `/api/v1/audit-events?environment_id=${id}&event=ssh_login`,
          { token: renter },
        );
        return e.body.items.filter((x) => x.status === 'success').length >= 2 ? e.body.items : null;
      },
      { timeout: 60_000 },
    );
    expect(events.length).toBeGreaterThanOrEqual(2);
    await p.api(`/api/v1/environments/${id}`, { method: 'DELETE', token: renter });
  }, 150_000);
  it("a second relay on the same Docker engine never lists, reconciles or removes the first one's containers", async () => {
    const renter = await p.renter();
    const r = await p.api<{ environment: { id: string; container_id: string } }>('/api/v1/environments', {
      token: renter,
      body: { name: 'mine', image_id: busybox, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
    });
    expect(r.status).toBe(201);
    const second = await p.api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', {
      token: await p.admin(),
      body: { name: 'it-relay-2', public_ssh_host: '127.0.0.1' },
    });
    p.spawnAgent(second.body.token, {
      stateDir: mkdtempSync(join(tmpdir(), 'it-agent2-')),
      sshListen: `127.0.0.1:${await freePort()}`,
      sshPorts: '23000-23999',
    });
    await until(
      'the second relay online',
      async () => {
        const l = await p.api<{ items: { id: string; status: string }[] }>('/api/v1/admin/hosts', {
          token: await p.admin(),
        });
        return l.body.items.find((i) => i.id === second.body.host.id)?.status === 'online';
      },
      { timeout: 30_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await inspect(r.body.environment.container_id)).State.Running).toBe(true);
    const env = await p.api<{ environment: { status: string } }>(`/api/v1/environments/${r.body.environment.id}`, {
      token: renter,
    });
    expect(env.body.environment.status).toBe('running');
    await p.api(`/api/v1/environments/${r.body.environment.id}`, { method: 'DELETE', token: renter });
  }, 120_000);
});
