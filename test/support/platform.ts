// The whole platform for integration tests: stand-ins, the edge in workerd, an admin, and real relay agent processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startEdge, type EdgeServer } from '../../dev/src/edge-server.ts';
import { startLocalServices, type LocalServices } from '../../dev/src/local-services.ts';
import { ownerNetworkName, relayIdOf } from '../../relay-agent/src/docker/labels.ts';
import { docker, loadServices } from './services.ts';

export interface ApiResult<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export class Platform {
  readonly adminEmail = 'admin@platform.test';
  readonly adminPassword = randomBytes(12).toString('hex');
  private adminToken = '';
  private agents: ChildProcess[] = [];
  private constructor(readonly dir: string, readonly services: LocalServices, public edge: EdgeServer, private bindings: Record<string, string>) {}

  static async start(): Promise<Platform> {
    const dir = mkdtempSync(join(tmpdir(), 'platform-'));
    const services = await startLocalServices({ dataDir: dir });
    const p = new Platform(dir, services, null as unknown as EdgeServer, {});
    p.bindings = {
      UPSTASH_REDIS_REST_URL: services.upstashUrl, UPSTASH_REDIS_REST_TOKEN: services.upstashToken,
      LIBSQL_URL: services.libsqlUrl, LIBSQL_AUTH_TOKEN: services.libsqlToken,
      REMOTEGPU_SECRET_KEY: randomBytes(32).toString('hex'), REMOTEGPU_ADMIN_EMAIL: p.adminEmail,
      REMOTEGPU_ADMIN_PASSWORD: p.adminPassword, REMOTEGPU_COMMAND_TIMEOUT_MS: '60000',
      // This machine has 2 cores; the tests run a few 1-core containers at once.
      REMOTEGPU_CPU_OVERCOMMIT: '8',
    };
    await p.startEdge();
    return p;
  }

  /** (Re)starts the edge; `port` keeps the URL stable across a restart. */
  async startEdge(port = 0): Promise<void> {
    this.edge = await startEdge({ port, bindings: this.bindings, persistDir: this.dir, outDir: join(this.dir, 'edge-build') });
  }

  get port(): number {
    return Number(new URL(this.edge.url).port);
  }

  async api<T = Record<string, unknown>>(path: string, o: { method?: string; token?: string; body?: unknown } = {}): Promise<ApiResult<T>> {
    const res = await fetch(`${this.edge.url}${path}`, {
      method: o.method ?? (o.body === undefined ? 'GET' : 'POST'),
      headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }

  async admin(): Promise<string> {
    if (!this.adminToken) {
      const r = await this.api<{ token: string }>('/api/v1/auth/login', { body: { email: this.adminEmail, password: this.adminPassword } });
      if (r.status !== 200) throw new Error(`admin login: ${r.status} ${JSON.stringify(r.body)}`);
      this.adminToken = r.body.token;
    }
    return this.adminToken;
  }

  async renter(): Promise<string> {
    const r = await this.api<{ token: string }>('/api/v1/auth/register', { body: { email: `r${randomBytes(6).toString('hex')}@platform.test`, password: 'renter-password-1' } });
    if (r.status !== 201) throw new Error(`register: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.token;
  }

  /** Spawns the real agent CLI (as `npx @remotegpu/relay-agent` would run it) with its own state and ports. */
  /**
   * `logFile`: the agent's whole log (stdout and stderr) at debug level goes there, for tests that read it.
   * `logLines` collects the agent's log (JSON lines on stderr) at its default level, as an operator would see it.
   */
  spawnAgent(token: string, o: { stateDir: string; sshListen: string; sshPorts: string; extraEnv?: Record<string, string>; logFile?: string; logLines?: string[] }): ChildProcess {
    const log = o.logFile ? openSync(o.logFile, 'a') : null;
    const level = process.env.AGENT_TEST_LOG || log !== null ? ['--log-level', 'debug'] : o.logLines ? [] : ['--log-level', 'warn'];
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'relay-agent/src/cli.ts'),
      '--edge', this.edge.url, '--ssh-listen', o.sshListen, '--ssh-ports', o.sshPorts, '--public-host', '127.0.0.1',
      '--state-dir', o.stateDir, '--docker', loadServices().dockerHost, ...level], {
      stdio: ['ignore', log ?? (process.env.AGENT_TEST_LOG ? 'inherit' : 'ignore'), log ?? (o.logLines ? 'pipe' : 'inherit')],
      env: { ...process.env, REMOTEGPU_TOKEN: token, ...o.extraEnv },
    });
    if (log !== null) closeSync(log);
    const lines = o.logLines;
    if (lines && child.stderr) {
      let rest = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        lines.push(...parts.filter(Boolean));
      });
    }
    this.agents.push(child);
    return child;
  }

  async waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
    const start = Date.now();
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Removes every container (and its owner's network) made by this platform's relays, whatever the tests left. */
  private async removeContainers(): Promise<void> {
    const hosts = await this.api<{ items: { platform_public_key: string | null }[] }>('/api/v1/admin/hosts', { token: await this.admin() }).catch(() => null);
    for (const h of hosts?.body.items ?? []) {
      if (!h.platform_public_key) continue;
      const lines = (await docker(['ps', '-a', '--filter', `label=remotegpu.managed=${relayIdOf(h.platform_public_key)}`, '--format', '{{.ID}} {{.Label "remotegpu.owner"}}']).catch(() => ''))
        .split('\n').filter(Boolean).map((l) => l.split(' '));
      if (lines.length) await docker(['rm', '-f', ...lines.map((l) => l[0]!)]).catch(() => '');
      for (const owner of new Set(lines.map((l) => l[1]).filter(Boolean))) await docker(['network', 'rm', ownerNetworkName(owner!)]).catch(() => '');
    }
  }

  async close(): Promise<void> {
    await this.removeContainers().catch(() => undefined);
    await Promise.all(this.agents.filter((a) => a.exitCode === null && a.signalCode === null).map((a) => new Promise<void>((done) => {
      a.once('exit', () => done());
      a.kill('SIGTERM');
      setTimeout(() => { a.kill('SIGKILL'); done(); }, 5000);
    })));
    await this.edge.close().catch(() => undefined);
    await this.services.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
