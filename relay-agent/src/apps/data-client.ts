// K data connections for app traffic (`/agent/connect?role=data&shard=i&shards=K`), each with its own reconnect loop.
import WebSocket from 'ws';
import { DATA_ROLE, HEARTBEAT_MS, MSG, PROTOCOL_VERSION } from '@remotegpu/schema';
import type { Logger, RouteTable } from '../contracts.ts';
import { Backoff } from '../tunnel/backoff.ts';
import { systemClock, type Clock } from '../tunnel/clock.ts';
import { runConnection, type WebSocketCtor } from '../tunnel/connection.ts';
import { PermanentError } from '../tunnel/errors.ts';
import { supervise } from '../tunnel/supervisor.ts';
import { AGENT_VERSION } from '../version.ts';
import type { TerminalSessions } from '../terminal/sessions.ts';
import { SendGate } from './send-gate.ts';
import { StreamMux, targetAgent, type FileAccess } from './stream-mux.ts';

export interface DataShardsOptions {
  /** The control connection's URL (`.../agent/connect`); the shard query is added to it. */
  url: string;
  token: string;
  shards: number;
  routes: Pick<RouteTable, 'byEnv'>;
  log: Logger;
  /** File streams over SFTP (the console's Files panel); absent: refused. */
  files?: FileAccess;
  /** The browser terminal's shells, shared by every shard (they outlive a data connection that drops). */
  terminals?: TerminalSessions;
  WebSocketImpl?: WebSocketCtor;
  clock?: Clock;
  connectTimeoutMs?: number;
  heartbeatMs?: number;
  backoff?: { baseMs: number; capMs: number };
  stableMs?: number;
}

function shardUrl(url: string, shard: number, shards: number): string {
  const u = new URL(url);
  u.searchParams.set('role', DATA_ROLE);
  u.searchParams.set('shard', String(shard));
  u.searchParams.set('shards', String(shards));
  return u.toString();
}

export class DataShards {
  private readonly abort = new AbortController();
  private readonly muxes: (StreamMux | null)[];
  private readonly agent = targetAgent();
  private running: Promise<void>[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(private readonly opts: DataShardsOptions) {
    this.muxes = new Array<StreamMux | null>(opts.shards).fill(null);
  }

  get connectedShards(): number {
    return this.muxes.filter(Boolean).length;
  }

  start(): void {
    const o = this.opts;
    const clock = o.clock ?? systemClock;
    this.running = this.muxes.map((_, shard) => {
      const log = o.log.child({ shard });
      return supervise({
        backoff: new Backoff(o.backoff ?? { baseMs: 1000, capMs: 60_000 }),
        clock,
        log,
        signal: this.abort.signal,
        stableMs: o.stableMs ?? 60_000,
        run: (ctx) =>
          runConnection(
            {
              url: shardUrl(o.url, shard, o.shards),
              token: o.token,
              clock,
              log,
              WebSocketImpl: o.WebSocketImpl ?? (WebSocket as unknown as WebSocketCtor),
              connectTimeoutMs: o.connectTimeoutMs ?? 15_000,
              heartbeatMs: o.heartbeatMs ?? HEARTBEAT_MS,
              missedHeartbeats: 3,
              hello: async () => ({
                type: MSG.hello,
                protocol: PROTOCOL_VERSION,
                agent_version: AGENT_VERSION,
                role: DATA_ROLE,
                shard,
              }),
              onOpen: (_welcome, _send, ws) => {
                // Binary frames go straight to the socket: the control queue is for JSON messages only.
                // One bulk budget per connection: streams take turns instead of queueing their whole credit.
                const gate = new SendGate((frame, written) => {
                  if (ws.readyState !== WebSocket.OPEN) return false;
                  ws.send(frame, { binary: true }, written);
                  return true;
                });
                this.muxes[shard] = new StreamMux(
                  gate.sender(),
                  o.routes,
                  this.agent,
                  log,
                  o.files ?? null,
                  o.terminals ?? null,
                );
                log.info('data connection up');
                if (this.connectedShards === o.shards) {
                  for (const w of this.waiters) w();
                  this.waiters.clear();
                }
              },
              onBinary: (data) => this.muxes[shard]?.frame(data),
              onMessage: () => {},
              onClose: () => {
                this.muxes[shard]?.closeAll();
                this.muxes[shard] = null;
              },
            },
            ctx,
          ),
      }).catch((err: unknown) => {
        // A refused token ends the control connection too, which stops the agent: this shard just stops.
        if (err instanceof PermanentError) log.error('data connection refused', { err: err.message });
        else throw err;
      });
    });
  }

  /** Resolves once every shard is connected (tests and benchmarks). */
  whenConnected(): Promise<void> {
    if (this.connectedShards === this.opts.shards) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.running);
    for (const m of this.muxes) m?.closeAll();
    this.agent.destroy();
  }
}
