// The tunnel client: the reconnect loop around runConnection, the bounded send queue, routes, commands and the outbox.
import WebSocket from 'ws';
import { HEARTBEAT_MS, MSG, encodeControl } from '@remotegpu/schema';
import type { Command, ControlMessage, Event, Hello, Result, Route, Welcome } from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';
import { Backoff } from './backoff.ts';
import { systemClock } from './clock.ts';
import type { Clock } from './clock.ts';
import { runConnection } from './connection.ts';
import type { WebSocketCtor } from './connection.ts';
import { OutboxDrain } from './outbox-drain.ts';
import type { DrainSource } from './outbox-drain.ts';
import { supervise } from './supervisor.ts';

interface RouteSink {
  replaceAll(routes: readonly Route[]): void;
  upsert(route: Route): void;
  remove(environmentId: string): void;
}

export interface TunnelOptions {
  url: string;
  token: string;
  log: Logger;
  hello(): Promise<Hello>;
  routes: RouteSink;
  commands: { handle(cmd: Command): Promise<Result> };
  outbox: DrainSource;
  /** Called after each welcome (reconciliation hooks). */
  onWelcome?(welcome: Welcome): void;
  WebSocketImpl?: WebSocketCtor;
  clock?: Clock;
  random?: () => number;
  connectTimeoutMs?: number;
  heartbeatMs?: number;
  missedHeartbeats?: number;
  /** Messages kept while disconnected; the oldest are dropped beyond this. */
  queueLimit?: number;
  backoff?: { baseMs: number; capMs: number };
  stableMs?: number;
}

export class TunnelClient {
  private readonly queue: string[] = [];
  private dropped = 0;
  private sendNow: ((text: string) => boolean) | null = null;
  private readonly abort = new AbortController();
  private readonly drain: OutboxDrain;
  private running: Promise<void> | null = null;
  private readonly connectedWaiters = new Set<() => void>();

  constructor(private readonly opts: TunnelOptions) {
    this.drain = new OutboxDrain(opts.outbox, (text) => this.sendNow?.(text) ?? false, opts.log);
  }

  get connected(): boolean {
    return this.sendNow !== null;
  }

  /** Runs until stop() (resolves) or a permanent error such as a refused token (rejects). */
  start(): Promise<void> {
    if (this.running) return this.running;
    const o = this.opts;
    const clock = o.clock ?? systemClock;
    const backoff = new Backoff({ ...(o.backoff ?? { baseMs: 1000, capMs: 60_000 }), random: o.random ?? Math.random });
    this.running = supervise({
      backoff,
      clock,
      log: o.log,
      signal: this.abort.signal,
      stableMs: o.stableMs ?? 60_000,
      run: (ctx) =>
        runConnection(
          {
            url: o.url,
            token: o.token,
            clock,
            log: o.log,
            WebSocketImpl: o.WebSocketImpl ?? (WebSocket as unknown as WebSocketCtor),
            connectTimeoutMs: o.connectTimeoutMs ?? 15_000,
            heartbeatMs: o.heartbeatMs ?? HEARTBEAT_MS,
            missedHeartbeats: o.missedHeartbeats ?? 3,
            hello: o.hello,
            onOpen: (welcome, send) => this.opened(welcome, send),
            onMessage: (msg) => this.received(msg),
            onClose: () => this.closed(),
          },
          ctx,
        ),
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running?.catch(() => {});
  }

  /** Sends a message now, or queues it until the next connection (bounded, oldest dropped first). */
  send(msg: ControlMessage): void {
    const text = encodeControl(msg);
    if (this.sendNow?.(text)) return;
    this.queue.push(text);
    const limit = this.opts.queueLimit ?? 1000;
    while (this.queue.length > limit) {
      this.queue.shift();
      this.dropped++;
    }
  }

  /** A non-durable event; `droppable` ones (pull and image progress) are not queued while disconnected. */
  emit(name: string, data: unknown, opts: { droppable?: boolean } = {}): void {
    const msg: Event = { type: MSG.event, name, data };
    if (opts.droppable && !this.connected) return;
    this.send(msg);
  }

  /** New outbox entries: drain them if connected. */
  kick(): void {
    if (this.connected) this.drain.pump();
  }

  /** Resolves at the next welcome (tests and start-up ordering). */
  whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this.connectedWaiters.add(resolve));
  }

  private opened(welcome: Welcome, send: (text: string) => boolean): void {
    try {
      this.opts.routes.replaceAll(welcome.routes);
    } catch (err) {
      this.opts.log.error('could not apply the route set', { err });
    }
    this.sendNow = send;
    if (this.dropped > 0) this.opts.log.warn('send queue overflowed while disconnected', { dropped: this.dropped });
    this.dropped = 0;
    for (const text of this.queue.splice(0)) send(text);
    this.drain.reset();
    this.drain.pump();
    this.opts.onWelcome?.(welcome);
    for (const fn of this.connectedWaiters) fn();
    this.connectedWaiters.clear();
  }

  private closed(): void {
    this.sendNow = null;
  }

  private received(msg: ControlMessage): void {
    const log = this.opts.log;
    switch (msg.type) {
      case MSG.routeUpsert:
        this.opts.routes.upsert(msg.route);
        log.info('route upserted', { env_id: msg.route.environment_id, port: msg.route.ssh_port });
        return;
      case MSG.routeRemove:
        this.opts.routes.remove(msg.environment_id);
        log.info('route removed', { env_id: msg.environment_id });
        return;
      case MSG.cmd:
        log.debug('command received', { cmd_id: msg.id, cmd: msg.name });
        this.opts.commands.handle(msg).then(
          (result) => this.send(result),
          (err: unknown) => {
            log.error('command dispatcher failed', { cmd_id: msg.id, err });
          },
        );
        return;
      case MSG.ack:
        this.drain.acked(msg.ids);
        return;
      default:
        log.debug('message ignored', { type: msg.type });
    }
  }
}
