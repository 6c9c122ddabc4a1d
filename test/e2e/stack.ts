// The whole platform for the console e2e tests: stand-ins, the edge in workerd serving web/dist, demo data, a real relay agent.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startEdge, type EdgeServer } from '../../dev/src/edge-server.ts';
import { startLocalServices, type LocalServices } from '../../dev/src/local-services.ts';
import { seedDemo } from '../../dev/src/seed-demo.ts';
import { docker, loadServices } from '../support/services.ts';
import { freePort } from '../../dev/src/free-port.ts';

export const ADMIN = { email: 'admin@e2e.test', password: 'admin-password-e2e-0123' };

export interface StackOptions {
  /** REMOTEGPU_DOMAIN (default `localhost`): apps at `*.container.<domain>`. */
  domain?: string;
  /** The console's host name as browsers reach it (default 127.0.0.1); REMOTEGPU_PUBLIC_URL is built from it. */
  consoleHost?: string;
}

export interface Stack {
  /** The edge on loopback, for API calls from Node. */
  url: string;
  /** The console's origin as browsers reach it (REMOTEGPU_PUBLIC_URL). */
  consoleUrl: string;
  /** The edge's listen port (console and app hosts alike). */
  port: number;
  hostId: string;
  dir: string;
  /** JSON API call as the admin (Bearer token). */
  admin<T>(path: string, body?: unknown, method?: string): Promise<T>;
  close(): Promise<void>;
}


async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const services = loadServices();
  const dir = await mkdtemp(join(tmpdir(), 'remotegpu-e2e-'));
  const stops: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch((err: unknown) => console.error('e2e cleanup:', err));
  };
  try {
    const local: LocalServices = await startLocalServices({ dataDir: join(dir, 'data') });
    stops.push(async () => {
      await local.close();
      await rm(dir, { recursive: true, force: true });
    });
    const port = await freePort();
    const consoleUrl = `http://${opts.consoleHost ?? '127.0.0.1'}:${port}`;
    const edge: EdgeServer = await startEdge({
      port, outDir: join(dir, 'edge-build'),
      bindings: {
        UPSTASH_REDIS_REST_URL: local.upstashUrl, UPSTASH_REDIS_REST_TOKEN: local.upstashToken,
        LIBSQL_URL: local.libsqlUrl, LIBSQL_AUTH_TOKEN: local.libsqlToken,
        REMOTEGPU_SECRET_KEY: 'e2e-secret-key-0123456789abcdef0123456789abcdef',
        REMOTEGPU_ADMIN_EMAIL: ADMIN.email, REMOTEGPU_ADMIN_PASSWORD: ADMIN.password,
        REMOTEGPU_PUBLIC_URL: consoleUrl, REMOTEGPU_DOMAIN: opts.domain ?? 'localhost',
      },
    });
    stops.push(() => edge.close());
    const demo = await seedDemo(edge.url, ADMIN.email, ADMIN.password);

    const agentLog = createWriteStream(join(tmpdir(), `remotegpu-e2e-agent-${process.pid}.log`));
    const agent: ChildProcess = spawn(process.execPath, [
      '--import', 'tsx', join(REPO_ROOT, 'relay-agent/src/cli.ts'), '--edge', edge.url,
      '--ssh-listen', `127.0.0.1:${await freePort()}`, '--public-host', '127.0.0.1',
      '--state-dir', join(dir, 'relay'), '--docker', services.dockerHost, '--log-level', 'info',
    ], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, REMOTEGPU_TOKEN: demo.hostToken } });
    agent.stdout?.pipe(agentLog);
    agent.stderr?.pipe(agentLog);
    stops.push(async () => {
      if (agent.exitCode === null) {
        const gone = new Promise<void>((r) => agent.once('exit', () => r()));
        agent.kill('SIGTERM');
        const t = setTimeout(() => agent.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(t);
      }
      agentLog.end();
    });

    // workerd may close an idle keep-alive socket just as undici reuses it: such a request is retried once.
    const call = async (path: string, init: RequestInit): Promise<Response> => {
      try {
        return await fetch(`${edge.url}/api/v1${path}`, init);
      } catch {
        return fetch(`${edge.url}/api/v1${path}`, init);
      }
    };
    const login = await call('/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    const token = ((await login.json()) as { token: string }).token;
    const admin = async <T>(path: string, body?: unknown, method?: string): Promise<T> => {
      const res = await call(path, {
        method: method ?? (body === undefined ? 'GET' : 'POST'),
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method ?? 'GET'} ${path}: ${res.status} ${text}`);
      return (text ? JSON.parse(text) : null) as T;
    };
    await until('the relay agent to come online', async () => {
      const { items } = await admin<{ items: { id: string; status: string }[] }>('/admin/hosts');
      return items.find((h) => h.id === demo.hostId)?.status === 'online';
    }, 60_000);

    // Whatever the run left on the private engine (containers, the renters' networks) goes before the agent stops.
    stops.push(async () => {
      const envs = (await admin<{ items: { id: string; user_id: string }[] }>('/environments?all=true')).items;
      const names = envs.map((e) => `remotegpu-${e.id}`);
      if (names.length) await docker(['rm', '-f', ...names]).catch(() => undefined);
      for (const owner of new Set(envs.map((e) => e.user_id))) {
        await docker(['network', 'rm', `remotegpu-u-${owner}`]).catch(() => undefined);
      }
    });
    return { url: edge.url, consoleUrl, port, hostId: demo.hostId, dir, admin, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export { until };
