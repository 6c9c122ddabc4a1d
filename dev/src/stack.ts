// The stack kit: stand-ins, the edge in workerd, admin API access and relay processes, for npm start, the tests and bench.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCloudflareDns, type CloudflareDns } from './cloudflare-dns.ts';
import { REPO_ROOT, startEdge, type EdgeServer } from './edge-server.ts';
import { jsonApi, ok, type Api } from './json-api.ts';
import { startLocalServices, type LocalServices } from './local-services.ts';

export interface StackOptions {
  /** State folder (libsql file, bundle, DO storage when `persist`); a temp folder removed at close when omitted. */
  dir?: string;
  /** The edge's listen address (default 127.0.0.1, any free port). */
  host?: string;
  port?: number;
  /** The seeded admin (default: admin@stack.test with a random password). */
  admin?: { email: string; password: string };
  /** REMOTEGPU_SECRET_KEY (default: random). */
  secretKey?: string;
  /** More bindings over the defaults (REMOTEGPU_DOMAIN, REMOTEGPU_PUBLIC_URL, ...). */
  vars?: Record<string, string>;
  /** Keep Durable Object storage in `dir` (survives an edge restart). */
  persist?: boolean;
  /**
   * SSH names `<envid>.ssh.<sshDomain>`: starts the Cloudflare DNS stand-in (zone `<sshDomain>`) and gives the edge
   * REMOTEGPU_SSH_DOMAIN and the REMOTEGPU_CF_* secrets for it.
   */
  sshDomain?: string;
  /** The stand-in's DNS port, UDP and TCP (default: any free one). */
  dnsPort?: number;
  /** Runs the Worker's cron this often (as Cloudflare's trigger would; Miniflare has none), once right at start. */
  cronEveryMs?: number;
}

export interface RelayOptions {
  /** The host's token (REMOTEGPU_TOKEN). */
  token: string;
  /** `host:port` of the shared SSH port. */
  sshListen: string;
  sshPorts?: string;
  stateDir: string;
  /** The Docker engine (`--docker`); the agent's default when omitted. */
  docker?: string;
  logLevel?: string;
  /** The edge URL the agent dials (default: the stack's; a fault test puts a proxy in between, a fleet a forwarder its namespace reaches). */
  edge?: string;
  /** More environment for the agent (REMOTEGPU_DATA_SHARDS...). */
  env?: Record<string, string>;
  stdio?: StdioOptions;
  /** Run the agent inside this network namespace (`ip netns exec`; root only). */
  netns?: string;
  /** `--public-host` (default 127.0.0.1). */
  publicHost?: string;
}

export interface Stack {
  /** The edge on loopback, for calls from Node. */
  url: string;
  port: number;
  dir: string;
  adminEmail: string;
  adminPassword: string;
  services: LocalServices;
  edge: EdgeServer;
  /** The Cloudflare DNS stand-in when `sshDomain` was given. */
  dns: CloudflareDns | null;
  /** Runs the Worker's cron once (`scheduled()`: the SSH names' DNS reconcile), as Cloudflare's triggers would. */
  runCron(): Promise<void>;
  /** JSON calls to the edge (`api('/api/v1/...', { token, body })`). */
  api: Api;
  /** The admin's bearer token (logged in once). */
  admin(): Promise<string>;
  /** Spawns the real agent CLI, as `npx @remotegpu/relay-agent` runs it; stopped at close. */
  startRelay(o: RelayOptions): ChildProcess;
  /** Stops the edge alone (the stand-ins, relays and state stay). */
  stopEdge(): Promise<void>;
  /** Starts the edge again on the same bindings; `port` keeps the URL stable across a restart. */
  startEdge(port?: number): Promise<void>;
  /** Runs at close before the relays stop (e.g. removing containers through the API). */
  onClose(fn: () => Promise<void>): void;
  close(): Promise<void>;
}

/** Stops a child: SIGTERM, SIGKILL after 5 s. */
export function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise<void>((done) => {
    const t = setTimeout(() => {
      c.kill('SIGKILL');
      done();
    }, 5000);
    c.once('exit', () => {
      clearTimeout(t);
      done();
    });
    c.kill('SIGTERM');
  });
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'remotegpu-stack-')));
  const admin = o.admin ?? { email: 'admin@stack.test', password: randomBytes(12).toString('hex') };
  const relays: ChildProcess[] = [];
  const first: (() => Promise<void>)[] = [];
  const stops: (() => Promise<void>)[] = [];
  // Never leave an agent behind, however this process ends.
  const killRelays = () => {
    for (const c of relays) if (c.exitCode === null) c.kill('SIGKILL');
  };
  process.on('exit', killRelays);
  if (!o.dir) stops.push(() => rm(dir, { recursive: true, force: true }));
  const close = async (): Promise<void> => {
    for (const fn of first.splice(0).reverse())
      await fn().catch((err: unknown) => console.error('stack cleanup:', err));
    await Promise.all(relays.map(stopChild));
    for (const stop of stops.splice(0).reverse())
      await stop().catch((err: unknown) => console.error('stack cleanup:', err));
    process.off('exit', killRelays);
  };
  try {
    const services = await startLocalServices({ dataDir: dir }).catch((err: Error) => {
      throw new Error(`${err.message} (install it: apt-get install redis-server, or run bash scripts/services.sh up)`);
    });
    stops.push(() => services.close());
    const dns = o.sshDomain
      ? await startCloudflareDns({ zoneName: o.sshDomain, ...(o.dnsPort ? { dnsPort: o.dnsPort } : {}) })
      : null;
    if (dns) stops.push(() => dns.close());
    const bindings: Record<string, string> = {
      UPSTASH_REDIS_REST_URL: services.upstashUrl,
      UPSTASH_REDIS_REST_TOKEN: services.upstashToken,
      LIBSQL_URL: services.libsqlUrl,
      LIBSQL_AUTH_TOKEN: services.libsqlToken,
      REMOTEGPU_SECRET_KEY: o.secretKey ?? randomBytes(32).toString('hex'),
      REMOTEGPU_ADMIN_EMAIL: admin.email,
      REMOTEGPU_ADMIN_PASSWORD: admin.password,
      REMOTEGPU_DOMAIN: 'localhost',
      // Every account made on a local stack starts with 10,000,000.00, so trying things out (and the tests) never
      // meets the balance guard by accident; a suite that tests money sets its own.
      REMOTEGPU_SIGNUP_CREDIT: '1000000000',
      ...(dns
        ? {
            REMOTEGPU_SSH_DOMAIN: dns.zoneName,
            REMOTEGPU_CF_ZONE_ID: dns.zoneId,
            REMOTEGPU_CF_API_TOKEN: dns.token,
            REMOTEGPU_CF_API_BASE: dns.apiBase,
          }
        : {}),
      ...o.vars,
    };
    const boot = (port: number) =>
      startEdge({
        host: o.host,
        port,
        bindings,
        outDir: join(dir, 'edge-build'),
        ...(o.persist ? { persistDir: dir } : {}),
      });
    let edge = await boot(o.port ?? 0);
    stops.push(() => edge.close());
    const api = jsonApi(() => edge.url);
    let token = '';
    const stack: Stack = {
      get url() {
        return edge.url;
      },
      get port() {
        return Number(new URL(edge.url).port);
      },
      get edge() {
        return edge;
      },
      dir,
      services,
      dns,
      async runCron() {
        const worker = await edge.mf.getWorker();
        const r = await worker.scheduled({ cron: '*/5 * * * *' });
        if (r.outcome !== 'ok') throw new Error(`the cron handler ended with ${r.outcome}`);
      },
      api,
      adminEmail: admin.email,
      adminPassword: admin.password,
      async admin() {
        token ||= ok('admin login', await api<{ token: string }>('/api/v1/auth/login', { body: admin })).token;
        return token;
      },
      startRelay(r) {
        const node = [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'relay-agent/src/cli.ts')];
        // `ip netns exec` execs the command (no fork): the child's pid is the agent's, so signals reach it.
        const [cmd, ...pre] = r.netns ? ['ip', 'netns', 'exec', r.netns, ...node] : node;
        const child = spawn(
          cmd!,
          [
            ...pre,
            '--edge',
            r.edge ?? edge.url,
            '--ssh-listen',
            r.sshListen,
            ...(r.sshPorts ? ['--ssh-ports', r.sshPorts] : []),
            '--public-host',
            r.publicHost ?? '127.0.0.1',
            '--state-dir',
            r.stateDir,
            ...(r.docker ? ['--docker', r.docker] : []),
            ...(r.logLevel ? ['--log-level', r.logLevel] : []),
          ],
          {
            cwd: REPO_ROOT,
            stdio: r.stdio ?? ['ignore', 'inherit', 'inherit'],
            // One SSH process per relay unless a run asks for workers: the suites start many relays on few cores.
            env: {
              ...process.env,
              REMOTEGPU_TOKEN: r.token,
              REMOTEGPU_SSH_WORKERS: process.env.REMOTEGPU_SSH_WORKERS ?? '1',
              ...r.env,
            },
          },
        );
        relays.push(child);
        return child;
      },
      async stopEdge() {
        await edge.close();
      },
      async startEdge(port = 0) {
        edge = await boot(port);
      },
      onClose(fn) {
        first.push(fn);
      },
      close,
    };
    if (o.cronEveryMs) {
      const tick = () => void stack.runCron().catch((err: Error) => console.error(`cron: ${err.message}`));
      const timer = setInterval(tick, o.cronEveryMs);
      first.push(async () => clearInterval(timer));
      setImmediate(tick);
    }
    return stack;
  } catch (err) {
    await close();
    throw err;
  }
}
