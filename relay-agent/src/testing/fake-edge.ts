// A small in-process edge for tests: a ws server on loopback speaking the tunnel protocol from schema.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { MSG, PROTOCOL_VERSION, decodeControl, encodeControl } from '@remotegpu/schema';
import type { ControlMessage, Hello, Result, Route } from '@remotegpu/schema';

export interface FakeEdgeOptions {
  token?: string;
  /** Listen on this port (an edge coming back on its old address); default an ephemeral one. */
  port?: number;
  routes?: Route[];
  heartbeatMs?: number;
  /** Ack durable events automatically (default true). */
  autoAck?: boolean;
  /** Answer the hello with a welcome (default true). */
  welcome?: boolean;
}

type Received = { conn: number; msg: ControlMessage };

export class FakeEdge {
  readonly received: Received[] = [];
  readonly hellos: Hello[] = [];
  /** Status to answer upgrades with instead of accepting them (e.g. 401). */
  refuseWith: number | null = null;
  /** Answer pings (false simulates an edge that went silent without closing). */
  answerPings = true;
  routes: Route[];
  connections = 0;
  private current: WebSocket | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly results = new Map<string, (r: Result) => void>();

  private constructor(
    private readonly wss: WebSocketServer,
    readonly port: number,
    private readonly o: FakeEdgeOptions,
  ) {
    this.routes = o.routes ?? [];
  }

  static async start(o: FakeEdgeOptions = {}): Promise<FakeEdge> {
    const token = o.token ?? 'test-token';
    let self: FakeEdge | null = null;
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: o.port ?? 0,
      verifyClient: (info, cb) => {
        if (self?.refuseWith) return cb(false, self.refuseWith, 'refused');
        if (info.req.headers.authorization !== `Bearer ${token}`) return cb(false, 401, 'bad token');
        if (info.req.url !== '/agent/connect') return cb(false, 404, 'not found');
        cb(true);
      },
    });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    self = new FakeEdge(wss, (wss.address() as AddressInfo).port, o);
    wss.on('connection', (ws) => self!.accept(ws));
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private accept(ws: WebSocket): void {
    const conn = ++this.connections;
    this.current = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const d = decodeControl(data.toString());
      if (!d.ok) return;
      const msg = d.value;
      this.received.push({ conn, msg });
      if (msg.type === MSG.hello) {
        this.hellos.push(msg);
        if (this.o.welcome !== false) {
          ws.send(
            encodeControl({
              type: MSG.welcome,
              protocol: PROTOCOL_VERSION,
              host_id: 'h1',
              heartbeat_ms: this.o.heartbeatMs ?? 20_000,
              routes: this.routes,
            }),
          );
        }
      } else if (msg.type === MSG.ping && this.answerPings) {
        ws.send(encodeControl({ type: MSG.pong, ts: msg.ts }));
      } else if (msg.type === MSG.result) {
        this.results.get(msg.id)?.(msg as Result);
        this.results.delete(msg.id);
      } else if (msg.type === MSG.event && this.o.autoAck !== false) {
        const ids =
          msg.name === 'audit'
            ? ((msg.data as { events?: { id: string }[] }).events ?? []).map((e) => e.id)
            : msg.name === 'metrics'
              ? ((msg.data as { samples?: { id?: string }[] }).samples ?? []).flatMap((s) => (s.id ? [s.id] : []))
              : msg.id
                ? [msg.id]
                : [];
        if (ids.length > 0) ws.send(encodeControl({ type: MSG.ack, ids }));
      }
      for (const w of this.waiters) w();
    });
  }

  /** Sends raw text (or a message) on the newest connection. */
  sendRaw(data: string | Buffer): void {
    this.current?.send(data);
  }

  send(msg: ControlMessage): void {
    this.sendRaw(encodeControl(msg));
  }

  /** Sends a command and waits for its result. */
  command(name: string, args: unknown, opts: { id?: string; timeoutMs?: number } = {}): Promise<Result> {
    const id = opts.id ?? randomUUID();
    const timeoutMs = opts.timeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no result for ${name} within ${timeoutMs} ms`)), timeoutMs);
      this.results.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.send({ type: MSG.cmd, id, name, deadline: Date.now() + timeoutMs, args });
    });
  }

  /** Waits until a received message matches. */
  waitFor(pred: (m: ControlMessage, conn: number) => boolean, timeoutMs = 10_000): Promise<ControlMessage> {
    const found = () => this.received.find((r) => pred(r.msg, r.conn))?.msg;
    return new Promise((resolve, reject) => {
      const hit = found();
      if (hit) return resolve(hit);
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error('waitFor timed out'));
      }, timeoutMs);
      const check = () => {
        const m = found();
        if (m) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(m);
        }
      };
      this.waiters.add(check);
    });
  }

  events(name: string): unknown[] {
    return this.received
      .filter((r) => r.msg.type === MSG.event && r.msg.name === name)
      .map((r) => (r.msg as { data: unknown }).data);
  }

  /** Drops every agent connection abruptly (an edge restart). */
  dropAll(): void {
    for (const ws of this.wss.clients) ws.terminate();
  }

  close(): Promise<void> {
    this.dropAll();
    return new Promise((r) => this.wss.close(() => r()));
  }
}
