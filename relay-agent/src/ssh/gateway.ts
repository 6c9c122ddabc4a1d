// The relay's SSH gateway: a listener per environment port plus the shared port, auth, then bridging to targets.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type Dockerode from 'dockerode';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey } from 'ssh2';
import type { Route } from '@remotegpu/schema';
import type { AuditSink, Logger, RecordingSink, RouteTable } from '../contracts.ts';
import { handleAuthentication } from './auth.ts';
import type { ConnMeta } from './auth.ts';
import type { RelayKeys } from './keys.ts';
import { LocalLockouts } from './lockouts.ts';
import type { Lockouts } from './lockouts.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import type { GatewayLimits } from './limits.ts';
import { requireNativeCrypto } from './native.ts';
import { makeTarget, serveConnection } from './session.ts';
import type { Target } from './target.ts';
import { NetnsPool } from './netns.ts';
import { ToolInstaller } from './tool-bundle.ts';
import { startSshWorkers } from './workers.ts';

export interface SshGatewayOptions {
  /** The shared port, where the username names the environment; environment ports bind on the same host. */
  listen: { host: string; port: number };
  /** Environment ports this relay may open; routes outside it are ignored with a warning. */
  portRange: [number, number];
  routes: RouteTable;
  audit: AuditSink;
  recordings: RecordingSink;
  keys: RelayKeys;
  docker: Dockerode;
  log: Logger;
  limits?: Partial<GatewayLimits>;
  /**
   * SSH worker processes sharing the connections (default 1: this process serves them). With more, each accepted
   * socket is handed to a worker in turn; lockouts, audit, recordings and logs stay in this process.
   */
  workers?: number;
  /** The Docker engine URL the workers connect to (`--docker`); required with workers > 1. */
  dockerUrl?: string;
  /** Start without ssh2's native crypto binding (slower JavaScript ciphers) instead of failing. */
  allowJsCrypto?: boolean;
}

export interface SshGateway {
  close(): Promise<void>;
  /** The shared port first, then the environment ports being listened on. */
  listeningPorts(): number[];
  /**
   * The environment's target for `login` (default: its SSH user), as SSH sessions get it: the console's file
   * transfers and browser terminal use it. `log` defaults to the gateway's.
   */
  target(route: Route, login?: string, log?: Logger): Target;
}

interface ConnState {
  meta: ConnMeta;
  sock: net.Socket;
  client: Connection | null;
  authed: boolean;
  envId: string | null;
}

interface Listener {
  server: net.Server;
  port: number;
}

/** What serves accepted connections: this process, or the SSH workers (relay-agent/src/ssh/workers.ts). */
export interface ConnectionServer {
  /** Serves one accepted TCP connection (handshake, authentication, sessions); `envPort` null: the shared port. */
  serve(sock: net.Socket, envPort: number | null): void;
  close(): Promise<void>;
}

export interface ConnectionServerDeps {
  routes: RouteTable;
  audit: AuditSink;
  recordings: RecordingSink;
  keys: RelayKeys;
  docker: Dockerode;
  log: Logger;
  limits: GatewayLimits;
  lockouts: Lockouts;
  /** Unauthenticated connections this server holds at once (default: `limits.maxUnauthenticated`). */
  maxUnauthenticated?: number;
  /** This SSH worker's index, written into audit details; absent when the gateway serves in its own process. */
  worker?: number;
}

/** Parses the relay's host keys once; ssh2 takes parsed keys as they are. */
function parseHostKeys(pems: string[]): { key: ParsedKey }[] {
  return pems.map((pem) => {
    const k = ssh2.utils.parseKey(pem);
    if (k instanceof Error) throw new Error(`invalid SSH host key: ${k.message}`);
    return { key: Array.isArray(k) ? (k[0] as ParsedKey) : k };
  });
}

/** Serves accepted connections in this process: the whole gateway with one worker, or one SSH worker's part. */
export function createConnectionServer(d: ConnectionServerDeps): ConnectionServer {
  const { limits, log } = d;
  const maxUnauthenticated = d.maxUnauthenticated ?? limits.maxUnauthenticated;
  const hostKeys = parseHostKeys(d.keys.hostKeys);
  // One per process: the bundle is read from the host once and uploaded once per container.
  const tools = new ToolInstaller({ docker: d.docker });
  // One network helper per container, for forwards from inside it (ssh -L/-D/-R to its loopback).
  const netns = new NetnsPool({ docker: d.docker, log });
  const conns = new Set<ConnState>();
  /** One ssh2 Server per port (null: the shared port), with the connections awaiting its 'connection' event. */
  const servers = new Map<number | null, { ssh: ssh2.Server; pending: Map<string, ConnState> }>();
  let unauthenticated = 0;
  let closing = false;

  function sshServerFor(pending: Map<string, ConnState>): ssh2.Server {
    const srv = new ssh2.Server({
      hostKeys,
      keepaliveInterval: limits.keepaliveMs,
      keepaliveCountMax: limits.keepaliveCountMax,
    } as ssh2.ServerConfig);
    srv.on('connection', (client: Connection, info: { ip: string; port: number }) => {
      const key = `${info.ip}|${info.port}`;
      const st = pending.get(key);
      pending.delete(key);
      client.on('error', (err: Error) =>
        log.debug('ssh client error', { conn_id: st?.meta.connId, error: err.message }),
      );
      if (!st) return client.end();
      st.client = client;
      handleAuthentication(client, st.meta, { routes: d.routes, audit: d.audit, lockouts: d.lockouts, log }, (a) => {
        if (!st.authed) unauthenticated--;
        st.authed = true;
        st.envId = a.route.environment_id;
        serveConnection(client, st.meta, a, {
          docker: d.docker,
          keys: d.keys,
          audit: d.audit,
          recordings: d.recordings,
          limits,
          log,
          tools,
          netns,
        });
      });
    });
    srv.on('error', (err: Error) => log.warn('ssh server error', { error: err.message }));
    return srv;
  }

  // A removed environment is gone: drop its sessions too.
  const unsubscribe = d.routes.onChange((_upserted, removed) => {
    if (!removed.length) return;
    const gone = new Set(removed);
    for (const st of conns) if (st.envId && gone.has(st.envId)) st.client?.end();
  });

  return {
    serve(sock, envPort) {
      sock.on('error', () => undefined);
      if (closing || unauthenticated >= maxUnauthenticated) {
        sock.destroy();
        return;
      }
      let srv = servers.get(envPort);
      if (!srv) {
        const pending = new Map<string, ConnState>();
        srv = { ssh: sshServerFor(pending), pending };
        servers.set(envPort, srv);
      }
      const { ssh, pending } = srv;
      sock.setNoDelay(true);
      unauthenticated++;
      const st: ConnState = {
        meta: {
          connId: randomBytes(6).toString('hex'),
          sourceIp: sock.remoteAddress ?? '',
          envPort,
          ...(d.worker === undefined ? {} : { worker: d.worker }),
        },
        sock,
        client: null,
        authed: false,
        envId: null,
      };
      const key = `${sock.remoteAddress}|${sock.remotePort}`;
      pending.set(key, st);
      conns.add(st);
      const grace = setTimeout(() => {
        if (!st.authed) sock.destroy();
      }, limits.loginGraceMs);
      sock.once('close', () => {
        clearTimeout(grace);
        if (!st.authed) unauthenticated--;
        st.authed = true; // counted once
        pending.delete(key);
        conns.delete(st);
      });
      ssh.injectSocket(sock);
    },
    async close() {
      closing = true;
      unsubscribe();
      for (const st of conns) st.client ? st.client.end() : st.sock.destroy();
      const deadline = Date.now() + 2000;
      while (conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const st of conns) st.sock.destroy();
      netns.close();
    },
  };
}

export async function startSshGateway(opts: SshGatewayOptions): Promise<SshGateway> {
  const limits: GatewayLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const log = opts.log.child({ component: 'ssh' });
  requireNativeCrypto(log, opts.allowJsCrypto ?? false);
  parseHostKeys(opts.keys.hostKeys); // a bad key fails here, not in a worker
  const lockouts = new LocalLockouts(limits);
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`ssh workers must be an integer >= 1, got ${workers}`);
  let server: ConnectionServer;
  if (workers === 1) {
    server = createConnectionServer({ ...opts, limits, log, lockouts });
  } else {
    if (!opts.dockerUrl) throw new Error('ssh workers need the Docker engine URL (dockerUrl)');
    server = await startSshWorkers({
      count: workers,
      routes: opts.routes,
      audit: opts.audit,
      recordings: opts.recordings,
      keys: opts.keys,
      dockerUrl: opts.dockerUrl,
      limits,
      lockouts,
      allowJsCrypto: opts.allowJsCrypto ?? false,
      log,
    });
  }
  // Only to build targets for the console's terminal and file transfers (this process); sessions never come here.
  const tools = new ToolInstaller({ docker: opts.docker });
  const netns = new NetnsPool({ docker: opts.docker, log });
  let closing = false;

  function listen(host: string, port: number, envPort: number | null): Promise<Listener> {
    // With workers the socket is handed over unread: nothing of the handshake is consumed here.
    const server_ = net.createServer({ pauseOnConnect: workers > 1 }, (sock) => {
      if (closing) return sock.destroy();
      server.serve(sock, envPort);
    });
    return new Promise((resolve, reject) => {
      server_.once('error', reject);
      server_.listen({ host, port, backlog: 511 }, () => {
        server_.removeListener('error', reject);
        server_.on('error', (err) => log.warn('ssh listener error', { port, error: err.message }));
        const addr = server_.address();
        resolve({ server: server_, port: typeof addr === 'object' && addr ? addr.port : port });
      });
    });
  }

  const shared = await listen(opts.listen.host, opts.listen.port, null);
  const envListeners = new Map<number, Listener | Promise<Listener | null>>();
  const [lo, hi] = opts.portRange;

  async function sync(): Promise<void> {
    const want = new Set<number>();
    for (const r of opts.routes.all()) {
      if (r.ssh_port < lo || r.ssh_port > hi || r.ssh_port === shared.port) {
        log.warn('route port outside the relay range', {
          env_id: r.environment_id,
          port: r.ssh_port,
          range: opts.portRange,
        });
        continue;
      }
      want.add(r.ssh_port);
    }
    const opening: Promise<unknown>[] = [];
    for (const port of want) {
      if (envListeners.has(port)) continue;
      const p = listen(opts.listen.host, port, port).then(
        (l) => {
          if (closing || envListeners.get(port) !== p) {
            l.server.close();
            return null;
          }
          envListeners.set(port, l);
          return l;
        },
        (err: Error) => {
          log.error('cannot listen on environment port', { port, error: err.message });
          envListeners.delete(port);
          return null;
        },
      );
      envListeners.set(port, p);
      opening.push(p);
    }
    for (const [port, l] of envListeners) {
      if (want.has(port)) continue;
      envListeners.delete(port);
      void Promise.resolve(l).then((x) => x?.server.close());
    }
    await Promise.all(opening);
  }

  const unsubscribe = opts.routes.onChange(() => {
    void sync();
  });
  await sync();
  log.info('ssh gateway listening', {
    host: opts.listen.host,
    shared_port: shared.port,
    environment_ports: envListeners.size,
    workers,
  });

  return {
    target: (route, login, tlog) =>
      makeTarget(
        route,
        login ?? (route.ssh_username || 'root'),
        { docker: opts.docker, keys: opts.keys, limits, tools, netns },
        tlog ?? log,
      ),
    listeningPorts: () => [shared.port, ...[...envListeners.values()].flatMap((l) => ('server' in l ? [l.port] : []))],
    async close() {
      closing = true;
      unsubscribe();
      const servers = [
        shared.server,
        ...(await Promise.all([...envListeners.values()].map((l) => Promise.resolve(l)))).flatMap((l) =>
          l ? [l.server] : [],
        ),
      ];
      envListeners.clear();
      for (const s of servers) s.close();
      await server.close();
      netns.close();
    },
  };
}
