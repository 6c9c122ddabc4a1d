// Spawns a private, throwaway redis-server on a free loopback port for local runs and tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './free-port.ts';

export class RedisServerMissing extends Error {
  override readonly name = 'RedisServerMissing';
  constructor(readonly binary: string) {
    super(`${binary} not found on PATH: install redis-server (Debian: apt-get install redis-server)`);
  }
}

export interface RedisProcess {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface SpawnRedisOptions {
  binary?: string;
  startTimeoutMs?: number;
  /** A fixed port (a restart keeps its clients' URL); a free one when omitted. */
  port?: number;
}

/** One raw PING over TCP: avoids pulling a client library into the readiness check. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
}

async function attempt(binary: string, port: number, timeoutMs: number): Promise<RedisProcess | 'retry'> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const spawnError = new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
  const exited = new Promise<'exited'>((resolve) => child.once('exit', () => resolve('exited')));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const early = await Promise.race([spawnError, exited, new Promise<null>((r) => setTimeout(() => r(null), 20))]);
    if (early === 'exited') {
      // Lost the race for the port to another process: pick a new one.
      if (/address already in use/i.test(output)) return 'retry';
      throw new Error(`redis-server exited during startup: ${output.trim()}`);
    }
    if (early) {
      if (early.code === 'ENOENT') throw new RedisServerMissing(binary);
      throw early;
    }
    if (await ping(port)) {
      return { url: `redis://127.0.0.1:${port}`, port, stop: stopper(child) };
    }
    if (Date.now() > deadline) {
      await stopper(child)();
      throw new Error(`redis-server did not answer PING within ${timeoutMs} ms: ${output.trim()}`);
    }
  }
}

/** Starts redis-server without persistence; throws RedisServerMissing when the binary is absent. */
export async function spawnRedis(opts: SpawnRedisOptions = {}): Promise<RedisProcess> {
  const binary = opts.binary ?? 'redis-server';
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  if (opts.port !== undefined) {
    const result = await attempt(binary, opts.port, timeoutMs);
    if (result === 'retry') throw new Error(`port ${opts.port} is taken: redis-server cannot start there`);
    return result;
  }
  for (let i = 0; i < 5; i++) {
    const result = await attempt(binary, await freePort(), timeoutMs);
    if (result !== 'retry') return result;
  }
  throw new Error('could not find a free port for redis-server after 5 attempts');
}
