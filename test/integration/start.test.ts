// `npm start` as a user runs it (as root, no services started beforehand by hand): the relay comes up, and a demo
// machine is rentable and loginable with the real ssh through it, its host key pinned, by its DNS name.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../dev/src/edge-server.ts';
import { freePort } from '../../dev/src/free-port.ts';
import { jsonApi } from '../../dev/src/json-api.ts';
import { until } from '../../dev/src/until.ts';
import { physicalSshd, revokeOnPhysical, servicesDir } from '../../dev/src/physical-keys.ts';
import { sshPassword } from '../support/ssh-login.ts';

/**
 * The environment's SSH port, bound by the relay only when the machine is rented: taken below Linux's ephemeral range
 * (32768+) so that no outgoing connection made meanwhile can be handed the same port.
 */
async function portBelowEphemeral(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    const free = await new Promise<boolean>((done) => {
      const srv = createServer();
      srv.once('error', () => done(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => done(true)));
    });
    if (free) return port;
  }
}

/** The local DNS stand-in's port (UDP and TCP): fixed, as a user would pass it, from this suite's block. */
const DNS_PORT = 27453;

describe('npm start', () => {
  let child: ChildProcess;
  let out = '';
  let base = '';
  let stateDir = '';
  let relayKey: string | null = null;
  const adminPassword = 'start-test-admin-password';

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'npm-start-'));
    const [port, sshPort, envPort] = [await freePort(), await freePort(), await portBelowEphemeral()];
    base = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      REMOTEGPU_ADMIN_PASSWORD: adminPassword,
      REMOTEGPU_SKIP_WEB_BUILD: '1',
    };
    // As on a fresh machine: no engine named; `npm start` (root here) brings up its own and the demo machine.
    delete env.DOCKER_HOST;
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'dev/src/start.ts'),
        '--port',
        String(port),
        '--state-dir',
        stateDir,
        '--ssh-port',
        String(sshPort),
        '--ssh-ports',
        `${envPort}-${envPort}`,
        '--ssh-domain',
        'gpu.test',
        '--dns-port',
        String(DNS_PORT),
      ],
      { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await until(
      'npm start to come up',
      () => {
        if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${out}`);
        return out.includes('Ctrl-C stops everything');
      },
      { timeout: 150_000, interval: 200 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${out}`);
    });
  }, 180_000);

  afterAll(async () => {
    // The relay's key goes off the shared loopback sshd whatever happened above.
    if (!relayKey && base && child?.exitCode === null) {
      const admin = (
        await api<{ token: string }>('/api/v1/auth/login', null, {
          email: 'admin@remotegpu.local',
          password: adminPassword,
        }).catch(() => null)
      )?.body.token;
      const hosts = admin
        ? await api<{ items: { name: string; platform_public_key: string | null }[] }>(
            '/api/v1/admin/hosts',
            admin,
          ).catch(() => null)
        : null;
      relayKey = hosts?.body.items.find((h) => h.name === 'local')?.platform_public_key ?? null;
    }
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    const physical = physicalSshd(servicesDir());
    if (physical && relayKey) await revokeOnPhysical(physical, relayKey);
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  const api = <T>(path: string, token: string | null, body?: unknown, method?: string) =>
    jsonApi(base)<T>(path, { token, body, ...(method ? { method } : {}) });

  it('starts the relay and readies the demo machines: rented, logged into with ssh through the relay, host key pinned', async () => {
    expect(out, out).toMatch(/relay agent {6}running on unix:\/\//);
    expect(out, out).toMatch(/demo machines {4}3 on 127\.0\.0\.2:2222: relay key authorized, host key pinned/);
    const admin = (
      await api<{ token: string }>('/api/v1/auth/login', null, {
        email: 'admin@remotegpu.local',
        password: adminPassword,
      })
    ).body.token;
    const local = await until(
      'the relay named local online',
      async () => {
        const h = (
          await api<{ items: { name: string; status: string; platform_public_key: string }[] }>(
            '/api/v1/admin/hosts',
            admin,
          )
        ).body.items.find((x) => x.name === 'local');
        return h?.status === 'online' && h;
      },
      { timeout: 30_000, interval: 200 },
    );
    relayKey = local.platform_public_key;
    const physical = physicalSshd(servicesDir())!;
    const pinned = readFileSync(physical.knownHosts, 'utf8').trim().split(/\s+/).slice(1, 3).join(' ');
    const machines = await api<{ items: { id: number; name: string; host_key: string | null }[] }>(
      '/api/v1/admin/machines',
      admin,
    );
    expect(machines.body.items.map((m) => m.host_key)).toEqual([pinned, pinned, pinned]);

    const renter = (
      await api<{ token: string }>('/api/v1/auth/register', null, {
        email: 'renter@start.test',
        password: 'renter-password-1',
      })
    ).body.token;
    const market = await api<{ items: { id: number; status: string }[] }>('/api/v1/market/machines', renter);
    const rented = await api<{
      environment: { id: string };
      access: { ssh_host: string; ssh_port: number; ssh_username: string; ssh_password: string };
    }>(`/api/v1/market/machines/${market.body.items[0]!.id}/allocate`, renter, {});
    expect(rented.status).toBe(201);
    // The access info names the machine; `npm start` printed how to resolve that name, and ssh goes to the answer.
    const a = rented.body.access;
    expect(a.ssh_host).toBe(`${rented.body.environment.id}.ssh.gpu.test`);
    const digLine = `dig @127.0.0.1 -p ${DNS_PORT} +short <envid>.ssh.gpu.test`;
    expect(out, out).toContain(digLine);
    const [digCmd, ...digArgs] = digLine.replace('<envid>', rented.body.environment.id).split(' ');
    const dig = await promisify(execFile)(digCmd!, digArgs);
    expect(dig.stdout.trim()).toBe('127.0.0.1');
    const login = () =>
      sshPassword({ ...a, ssh_host: dig.stdout.trim() }, 'id -un').then((r) =>
        r.code === 0 ? r.stdout.trim() : `failed: ${r.stderr}`,
      );
    let who = '';
    await until(
      'ssh through the relay as root',
      async () => {
        who = await login();
        return who === 'root';
      },
      { timeout: 30_000, interval: 200 },
    ).catch(() => undefined);
    expect(who, out).toBe('root');
    expect((await api(`/api/v1/environments/${rented.body.environment.id}`, renter, undefined, 'DELETE')).status).toBe(
      204,
    );
    expect((await promisify(execFile)(digCmd!, digArgs)).stdout.trim()).toBe('');
  }, 120_000);
});
