// An SSH worker process (forked by workers.ts): serves the sockets the primary hands over, with routes mirrored from
// the primary and lockouts, audit, recordings and logs sent back to it.
import type net from 'node:net';
import type { Route } from '@remotegpu/schema';
import type { LogLevel, Logger, RouteTable } from '../contracts.ts';
import { dockerFromUrl } from '../docker/connect.ts';
import { createConnectionServer } from './gateway.ts';
import { requireNativeCrypto } from './native.ts';
import type { ConnectionServer } from './gateway.ts';
import type { FailResult, Lockouts } from './lockouts.ts';
import type { FromWorker, ToWorker } from './worker-protocol.ts';

const send = (m: FromWorker) => {
  if (process.connected) process.send?.(m);
};

/** Log lines go to the primary, which writes them with its logger (and `worker` added). */
function ipcLogger(fields: Record<string, unknown> = {}): Logger {
  const out = (level: LogLevel) => (msg: string, f?: Record<string, unknown>) => {
    const all: Record<string, unknown> = { ...fields, ...f };
    for (const [k, v] of Object.entries(all)) if (v instanceof Error) all[k] = { message: v.message, name: v.name };
    send({ t: 'log', level, msg, fields: all });
  };
  return {
    debug: out('debug'),
    info: out('info'),
    warn: out('warn'),
    error: out('error'),
    child: (f) => ipcLogger({ ...fields, ...f }),
  };
}

/** The primary's route table, mirrored from its change messages. */
class MirrorRoutes implements RouteTable {
  private readonly byId = new Map<string, Route>();
  private readonly ports = new Map<number, string>();
  private readonly listeners = new Set<(u: Route[], r: string[]) => void>();
  byPort(port: number) {
    const id = this.ports.get(port);
    return id === undefined ? undefined : this.byId.get(id);
  }
  byEnv(id: string) {
    return this.byId.get(id);
  }
  all() {
    return [...this.byId.values()];
  }
  onChange(fn: (u: Route[], r: string[]) => void) {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }
  apply(upserted: Route[], removed: string[]) {
    for (const id of removed) this.drop(id);
    for (const r of upserted) {
      this.drop(r.environment_id);
      this.byId.set(r.environment_id, r);
      this.ports.set(r.ssh_port, r.environment_id);
    }
    for (const fn of this.listeners) fn(upserted, removed);
  }
  private drop(id: string) {
    const old = this.byId.get(id);
    if (!old) return;
    this.byId.delete(id);
    if (this.ports.get(old.ssh_port) === id) this.ports.delete(old.ssh_port);
  }
}

/** The primary's counters, asked over IPC. */
class RemoteLockouts implements Lockouts {
  private seq = 0;
  readonly waiting = new Map<number, (m: { locked?: boolean; result?: FailResult }) => void>();
  private ask(op: 'isLocked' | 'fail', source: string, pair: string) {
    const id = ++this.seq;
    return new Promise<{ locked?: boolean; result?: FailResult }>((resolve, reject) => {
      if (!process.connected) return reject(new Error('the relay primary is gone'));
      this.waiting.set(id, resolve);
      send({ t: 'lockout', id, op, source, pair });
    });
  }
  async isLocked(source: string, pair: string) {
    return (await this.ask('isLocked', source, pair)).locked === true;
  }
  async fail(source: string, pair: string) {
    return (await this.ask('fail', source, pair)).result ?? { source: false, pair: false };
  }
  succeed(pair: string) {
    send({ t: 'succeed', pair });
  }
}

const routes = new MirrorRoutes();
const lockouts = new RemoteLockouts();
let server: ConnectionServer | null = null;

process.on('message', (m: ToWorker, handle?: net.Socket) => {
  switch (m.t) {
    case 'init': {
      const log = ipcLogger({ component: 'ssh' });
      requireNativeCrypto(log, m.allowJsCrypto);
      server = createConnectionServer({
        routes,
        audit: { record: (event) => send({ t: 'audit', event }) },
        recordings: { upload: (rec) => send({ t: 'recording', rec }) },
        keys: m.keys,
        docker: dockerFromUrl(m.dockerUrl),
        log,
        limits: m.limits,
        lockouts,
        maxUnauthenticated: m.maxUnauthenticated,
        worker: m.index,
      });
      send({ t: 'ready' });
      break;
    }
    case 'routes':
      routes.apply(m.upserted, m.removed);
      break;
    case 'conn':
      if (!handle) break;
      if (server) server.serve(handle, m.envPort);
      else handle.destroy();
      break;
    case 'lockout': {
      const resolve = lockouts.waiting.get(m.id);
      lockouts.waiting.delete(m.id);
      resolve?.(m);
      break;
    }
    case 'close':
      void (server?.close() ?? Promise.resolve()).then(() => {
        send({ t: 'closed' });
        process.exit(0);
      });
      break;
  }
});
// The primary gone (crash, kill): nothing here can be served consistently without it.
process.on('disconnect', () => process.exit(0));
