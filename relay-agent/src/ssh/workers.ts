// The primary's side of the SSH workers: forks N processes, pushes them routes and keys, hands each accepted socket to
// the next one in turn, and answers for them what must be one per relay (lockout counters, audit, recordings, logs).
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { AuditSink, Logger, RecordingSink, RouteTable } from '../contracts.ts';
import type { RelayKeys } from './keys.ts';
import type { GatewayLimits } from './limits.ts';
import type { Lockouts } from './lockouts.ts';
import type { FromWorker, ToWorker } from './worker-protocol.ts';

export interface SshWorkersOptions {
  count: number;
  routes: RouteTable;
  audit: AuditSink;
  recordings: RecordingSink;
  keys: RelayKeys;
  dockerUrl: string;
  limits: GatewayLimits;
  /** The one set of counters, consulted by every worker. */
  lockouts: Lockouts;
  allowJsCrypto: boolean;
  log: Logger;
}

interface Worker {
  index: number;
  proc: ChildProcess;
  ready: boolean;
}

/** How a worker is started: the TypeScript source under tsx (tests, dev), or the bundle's dist/ssh-worker.js. */
function workerEntry(): { file: string; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(ts ? './worker-main.ts' : './ssh-worker.js', import.meta.url));
  return { file, execArgv: ts ? ['--import', 'tsx'] : [] };
}

/** Starts the workers; resolves once every one is ready to serve. `serve` hands a socket to the next ready worker. */
export async function startSshWorkers(o: SshWorkersOptions): Promise<{
  serve(sock: net.Socket, envPort: number | null): void;
  close(): Promise<void>;
}> {
  const workers: Worker[] = [];
  let next = 0;
  let closing = false;
  const entry = workerEntry();
  const share = Math.max(1, Math.ceil(o.limits.maxUnauthenticated / o.count));

  function spawnWorker(index: number): Promise<void> {
    const proc = fork(entry.file, [], {
      execArgv: entry.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const w: Worker = { index, proc, ready: false };
    workers[index] = w;
    const wlog = o.log.child({ worker: index, worker_pid: proc.pid });
    const send = (m: ToWorker) => {
      if (proc.connected) proc.send(m);
    };
    const unsubscribe = o.routes.onChange((upserted, removed) => send({ t: 'routes', upserted, removed }));
    return new Promise((resolve, reject) => {
      proc.on('message', (m: FromWorker) => {
        switch (m.t) {
          case 'ready':
            w.ready = true;
            wlog.debug('ssh worker ready');
            resolve();
            break;
          case 'audit':
            o.audit.record(m.event);
            break;
          case 'recording':
            o.recordings.upload(m.rec);
            break;
          case 'log':
            wlog[m.level](m.msg, m.fields);
            break;
          case 'lockout':
            if (m.op === 'isLocked')
              void o.lockouts.isLocked(m.source, m.pair).then((locked) => send({ t: 'lockout', id: m.id, locked }));
            else void o.lockouts.fail(m.source, m.pair).then((result) => send({ t: 'lockout', id: m.id, result }));
            break;
          case 'succeed':
            o.lockouts.succeed(m.pair);
            break;
          case 'closed':
            break;
        }
      });
      proc.once('exit', (code, signal) => {
        unsubscribe();
        w.ready = false;
        if (closing) return;
        wlog.error('ssh worker exited: starting another', { code, signal });
        reject(new Error(`ssh worker ${index} exited (${code ?? signal}) before it was ready`));
        // Its sessions are gone with it; new connections go to the others until the new one is ready.
        setTimeout(() => {
          if (!closing) spawnWorker(index).catch((err: Error) => wlog.error('ssh worker restart failed', { err }));
        }, 500);
      });
      send({
        t: 'init',
        index,
        keys: o.keys,
        limits: o.limits,
        maxUnauthenticated: share,
        dockerUrl: o.dockerUrl,
        allowJsCrypto: o.allowJsCrypto,
      });
      send({ t: 'routes', upserted: o.routes.all(), removed: [] });
    });
  }

  try {
    await Promise.all(Array.from({ length: o.count }, (_, i) => spawnWorker(i)));
  } catch (err) {
    // A worker that cannot start (no native binding, a bad key) fails the gateway's start, not a restart loop.
    closing = true;
    for (const w of workers) w?.proc.kill('SIGKILL');
    throw err;
  }
  o.log.info('ssh workers started', { workers: o.count, pids: workers.map((w) => w.proc.pid) });

  return {
    serve(sock, envPort) {
      for (let i = 0; i < workers.length; i++) {
        const w = workers[next++ % workers.length];
        if (!w?.ready || !w.proc.connected) continue;
        // The handle moves to the worker; this process's copy is closed once sent.
        w.proc.send({ t: 'conn', envPort } satisfies ToWorker, sock, { keepOpen: false }, (err) => {
          if (err) sock.destroy();
        });
        return;
      }
      o.log.warn('no ssh worker ready: connection dropped');
      sock.destroy();
    },
    async close() {
      closing = true;
      const exits = workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.proc.exitCode !== null || w.proc.signalCode !== null) return resolve();
            const kill = setTimeout(() => w.proc.kill('SIGKILL'), 4000);
            w.proc.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            if (w.proc.connected) w.proc.send({ t: 'close' } satisfies ToWorker);
            else w.proc.kill('SIGTERM');
          }),
      );
      await Promise.all(exits);
    },
  };
}
