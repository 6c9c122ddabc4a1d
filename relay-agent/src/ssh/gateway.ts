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
import { FailureLimiter } from './limiter.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import type { GatewayLimits } from './limits.ts';
import { hasNativeCrypto } from './native.ts';
import { makeTarget, serveConnection } from './session.ts';
import type { Target } from './target.ts';
import { NetnsPool } from './netns.ts';
import { ToolInstaller } from './tool-bundle.ts';

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

export async function startSshGateway(opts: SshGatewayOptions): Promise<SshGateway> {
  const limits: GatewayLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const log = opts.log.child({ component: 'ssh' });
  const native = hasNativeCrypto();
  log[native ? 'info' : 'warn']('ssh2 native crypto binding', {
    present: native,
    ...(native ? {} : { impact: 'about half the throughput, CPU-bound' }),
  });

  const hostKeys = opts.keys.hostKeys.map((pem) => {
    const k = ssh2.utils.parseKey(pem);
    if (k instanceof Error) throw new Error(`invalid SSH host key: ${k.message}`);
    return { key: Array.isArray(k) ? (k[0] as ParsedKey) : k };
  });
  const sourceLimiter = new FailureLimiter(limits.maxFailuresPerSource, limits.lockMs);
  const pairLimiter = new FailureLimiter(limits.maxFailures, limits.lockMs);
  // One per relay: the bundle is read from the host once and uploaded once per container.
  const tools = new ToolInstaller({ docker: opts.docker });
  // One network helper per container, for forwards from inside it (ssh -L/-D/-R to its loopback).
  const netns = new NetnsPool({ docker: opts.docker, log });
  const conns = new Set<ConnState>();
  let unauthenticated = 0;
  let closing = false;

  function sshServerFor(pending: Map<string, ConnState>): ssh2.Server {
    // ssh2 takes parsed keys as they are: one Server per listener costs no key parsing.
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
      handleAuthentication(
        client,
        st.meta,
        { routes: opts.routes, audit: opts.audit, sourceLimiter, pairLimiter, log },
        (a) => {
          if (!st.authed) unauthenticated--;
          st.authed = true;
          st.envId = a.route.environment_id;
          serveConnection(client, st.meta, a, {
            docker: opts.docker,
            keys: opts.keys,
            audit: opts.audit,
            recordings: opts.recordings,
            limits,
            log,
            tools,
            netns,
          });
        },
      );
    });
    srv.on('error', (err: Error) => log.warn('ssh server error', { error: err.message }));
    return srv;
  }

  function listen(host: string, port: number, envPort: number | null): Promise<Listener> {
    const pending = new Map<string, ConnState>();
    const ssh = sshServerFor(pending);
    const server = net.createServer((sock) => {
      sock.on('error', () => undefined);
      if (closing || unauthenticated >= limits.maxUnauthenticated) {
        sock.destroy();
        return;
      }
      sock.setNoDelay(true);
      unauthenticated++;
      const st: ConnState = {
        meta: { connId: randomBytes(6).toString('hex'), sourceIp: sock.remoteAddress ?? '', envPort },
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
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, backlog: 511 }, () => {
        server.removeListener('error', reject);
        server.on('error', (err) => log.warn('ssh listener error', { port, error: err.message }));
        const addr = server.address();
        resolve({ server, port: typeof addr === 'object' && addr ? addr.port : port });
      });
    });
  }

  const shared = await listen(opts.listen.host, opts.listen.port, null);
  const envListeners = new Map<number, Listener | Promise<Listener | null>>();
  const [lo, hi] = opts.portRange;

  async function sync(removed: string[]): Promise<void> {
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
    // A removed environment is gone: drop its sessions too.
    const gone = new Set(removed);
    for (const st of conns) if (st.envId && gone.has(st.envId)) st.client?.end();
    await Promise.all(opening);
  }

  const unsubscribe = opts.routes.onChange((_upserted, removed) => {
    void sync(removed);
  });
  await sync([]);
  log.info('ssh gateway listening', {
    host: opts.listen.host,
    shared_port: shared.port,
    environment_ports: envListeners.size,
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
      for (const st of conns) st.client ? st.client.end() : st.sock.destroy();
      const deadline = Date.now() + 2000;
      while (conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const st of conns) st.sock.destroy();
      netns.close();
    },
  };
}
