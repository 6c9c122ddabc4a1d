// HostTunnel: one Durable Object per relay, holding its control WebSocket, commands, presence and events
// (app traffic goes through the relay's data shards instead, see data-shard.ts).
import { DurableObject } from 'cloudflare:workers';
import {
  CLOSE_CODE,
  CMD,
  MSG,
  protocolRefusal,
  decodeControl,
  encodeControl,
  type ControlMessage,
  type Hello,
  type Route,
  type Result,
} from '@remotegpu/schema';
import type { Bindings } from '../env.ts';
import { ready } from '../boot.ts';
import { buildDeps, type Deps } from '../deps.ts';
import { onHello, onEvent, markOffline, refuseHost, touchHost } from './host-events.ts';
import { applyLateCreate } from './late-results.ts';
import { badHello } from './hello-check.ts';
import { sweepRetainedData } from '../environments/data.ts';

export type CommandOutcome =
  | { ok: true; data: unknown }
  | { ok: false; error: { code: string; message: string; retryable?: boolean } };

interface Pending {
  resolve: (r: CommandOutcome) => void;
  timer: ReturnType<typeof setTimeout>;
}

const AGENT_TAG = 'agent';
/** Heartbeat periods without a frame after which a relay is gone. */
const MISSED_HEARTBEATS = 3;
/** A relay's frames waiting at the edge before it is cut off as flooding (its outbox sends at most 1,000 unacked). */
const MAX_QUEUED_FRAMES = 2000;

export class HostTunnel extends DurableObject<Bindings> {
  private pending = new Map<string, Pending>();
  /** Frames of this relay's connections waiting for the one before them, and the connections cut off for flooding. */
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private readonly flooded = new WeakSet<WebSocket>();
  private lastSeen = Date.now();
  /** Fresh clients per use: a Durable Object's requests are separate I/O contexts too. */
  private get deps(): Deps {
    return buildDeps(this.env);
  }
  private get heartbeatMs(): number {
    return this.deps.config.heartbeatMs;
  }

  private agent(): WebSocket | null {
    for (const ws of this.ctx.getWebSockets(AGENT_TAG)) {
      const a = ws.deserializeAttachment() as { hello?: boolean } | null;
      if (a?.hello && ws.readyState === WebSocket.OPEN) return ws;
    }
    return null;
  }

  private hostId(ws: WebSocket): string {
    return (ws.deserializeAttachment() as { hostId: string }).hostId;
  }

  /** The Worker forwards an authenticated `/agent/connect` upgrade here. */
  override async fetch(request: Request): Promise<Response> {
    const hostId = request.headers.get('x-remotegpu-host-id');
    if (!hostId || request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected an agent WebSocket', { status: 400 });
    }
    // A newer connection replaces an older one (the agent reconnected before the old socket timed out).
    for (const old of this.ctx.getWebSockets(AGENT_TAG)) {
      try {
        old.close(CLOSE_CODE.replaced, 'replaced by a newer connection');
      } catch {
        /* already closing */
      }
    }
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [AGENT_TAG]);
    server.serializeAttachment({ hostId, hello: false, at: Date.now() });
    await this.ctx.storage.put('hostId', hostId);
    this.lastSeen = Date.now();
    await this.ctx.storage.setAlarm(Date.now() + this.heartbeatMs);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.lastSeen = Date.now();
    // One frame at a time per relay: a relay flooding the edge gets one lane to the database, never all of them, and
    // a backlog beyond MAX_QUEUED_FRAMES (a well-behaved agent waits for acks long before) cuts it off.
    if (this.queued >= MAX_QUEUED_FRAMES) {
      if (!this.flooded.has(ws)) {
        this.flooded.add(ws);
        console.log(JSON.stringify({ level: 'warn', msg: 'relay flooding, disconnected', host_id: this.hostId(ws) }));
        try {
          ws.close(CLOSE_CODE.flooding, `more than ${MAX_QUEUED_FRAMES} frames waiting at the edge`);
        } catch {
          /* closing */
        }
      }
      return;
    }
    this.queued++;
    const run = this.queue.then(() => this.onFrame(ws, message)).finally(() => this.queued--);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async onFrame(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (this.flooded.has(ws) || ws.readyState !== WebSocket.OPEN) return; // refused or replaced meanwhile
    const decoded = decodeControl(message);
    // The first frame must be a valid hello: anything else is refused with a reason (later garbage is only logged).
    const a = ws.deserializeAttachment() as { greeted?: boolean };
    if (!a.greeted) {
      ws.serializeAttachment({ ...a, greeted: true });
      const why = badHello(decoded);
      if (why) {
        console.log(JSON.stringify({ level: 'warn', msg: 'hello refused', reason: why, host_id: this.hostId(ws) }));
        ws.close(CLOSE_CODE.badHello, why);
        return;
      }
    }
    if (typeof message !== 'string') return; // binary stream frames belong to the data shards' connections
    if (!decoded.ok) {
      console.log(
        JSON.stringify({
          level: 'warn',
          msg: 'tunnel frame ignored',
          error: decoded.error,
          type: decoded.type,
          host_id: this.hostId(ws),
        }),
      );
      return;
    }
    await this.handle(ws, decoded.value);
  }

  private async handle(ws: WebSocket, msg: ControlMessage): Promise<void> {
    const hostId = this.hostId(ws);
    const attachment = ws.deserializeAttachment() as { hostId: string; hello: boolean; at: number };
    if (!attachment.hello && msg.type !== MSG.hello) return; // nothing before hello
    switch (msg.type) {
      case MSG.hello: {
        const hello = msg as Hello;
        const refusal = protocolRefusal(hello.protocol);
        if (refusal) {
          // Shown in the admin fleet view (offline_reason), with the agent version it reported.
          await refuseHost(this.deps, hostId, hello.agent_version, `refused: ${refusal}`);
          ws.close(CLOSE_CODE.protocolMismatch, refusal);
          return;
        }
        await ready(this.deps);
        const { routes, orphans } = await onHello(this.deps, hostId, hello);
        ws.serializeAttachment({ ...attachment, hello: true });
        ws.send(
          encodeControl({
            type: MSG.welcome,
            // The previous protocol is answered in its own version: it only meets messages it knows.
            protocol: hello.protocol,
            host_id: hostId,
            heartbeat_ms: this.heartbeatMs,
            routes,
          }),
        );
        for (const o of orphans) {
          void this.command(
            CMD.containerRemove,
            { environment_id: o.environment_id, container_id: o.container_id },
            60_000,
          );
        }
        return;
      }
      case MSG.ping:
        ws.send(encodeControl({ type: MSG.pong, ts: msg.ts }));
        await touchHost(this.deps, hostId);
        return;
      case MSG.pong: {
        const p = this.pending.get(`pong:${msg.ts}`);
        if (p) {
          clearTimeout(p.timer);
          this.pending.delete(`pong:${msg.ts}`);
          p.resolve({ ok: true, data: null });
        }
        return;
      }
      case MSG.result: {
        const r = msg as Result;
        const p = this.pending.get(r.id);
        const late = await this.ctx.storage.get<string>(`late:${r.id}`);
        if (late) {
          await this.ctx.storage.delete(`late:${r.id}`);
          // Nobody waits any more (the create outlived its deadline): record the outcome for the environment.
          if (!p) await applyLateCreate(this.deps, late, r);
        }
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(r.id);
        p.resolve(r.ok ? { ok: true, data: r.data } : { ok: false, error: r.error });
        return;
      }
      case MSG.event: {
        const ackIds = await onEvent(this.deps, hostId, msg);
        if (ackIds.length) ws.send(encodeControl({ type: MSG.ack, ids: ackIds }));
        return;
      }
      default:
        return; // edge-bound messages only; anything else is ignored
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    await this.disconnected(ws, `closed ${code} ${reason}`);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    await this.disconnected(ws, `error ${String(error)}`);
  }

  private async disconnected(ws: WebSocket, why: string): Promise<void> {
    const hostId = this.hostId(ws);
    const others = this.ctx.getWebSockets(AGENT_TAG).filter((w) => w !== ws && w.readyState === WebSocket.OPEN);
    try {
      ws.close(CLOSE_CODE.closing, 'closing');
    } catch {
      /* already closed */
    }
    if (others.length) return; // replaced by a newer connection: still online
    this.failPending('host_offline', `the relay disconnected (${why})`);
    // Results of this connection's commands can no longer arrive; the relay's next hello reconciles.
    const late = [...(await this.ctx.storage.list({ prefix: 'late:' })).keys()];
    if (late.length) await this.ctx.storage.delete(late);
    await markOffline(this.deps, hostId, why);
  }

  private failPending(code: string, message: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, error: { code, message, retryable: true } });
      this.pending.delete(id);
    }
  }

  override async alarm(): Promise<void> {
    const ws = this.ctx.getWebSockets(AGENT_TAG)[0];
    if (!ws) {
      // The edge restarted under a connected relay (its socket died with it) and the relay has not come back yet.
      const hostId = await this.ctx.storage.get<string>('hostId');
      if (hostId) await markOffline(this.deps, hostId, 'the edge restarted and the relay has not reconnected');
      return;
    }
    if (Date.now() - this.lastSeen > MISSED_HEARTBEATS * this.heartbeatMs) {
      await this.disconnected(ws, 'missed three heartbeats');
      return;
    }
    await this.ctx.storage.setAlarm(Date.now() + this.heartbeatMs);
    await this.sweep(this.hostId(ws));
  }

  /** Expired retained data volumes of this relay go (every heartbeat period while it is connected). */
  private async sweep(hostId: string): Promise<void> {
    if (!this.agent()) return;
    try {
      await sweepRetainedData(this.deps, hostId, (name, args) => this.command(name, args, 60_000));
    } catch (err) {
      console.log(JSON.stringify({ level: 'warn', msg: 'data sweep failed', host_id: hostId, error: String(err) }));
    }
  }

  // ---- RPC from the Worker ----

  async isOnline(): Promise<boolean> {
    return this.agent() !== null;
  }

  /** Sends a command and waits for its result until the deadline; never throws. */
  async command(name: string, args: unknown, timeoutMs: number): Promise<CommandOutcome> {
    const ws = this.agent();
    if (!ws)
      return { ok: false, error: { code: 'host_offline', message: 'the relay is not connected', retryable: true } };
    const id = crypto.randomUUID();
    const deadline = Date.now() + timeoutMs;
    const creates = name === CMD.containerCreate || name === CMD.containerClone;
    const envId = creates ? (args as { environment_id?: unknown }).environment_id : undefined;
    if (typeof envId === 'string') await this.ctx.storage.put(`late:${id}`, envId);
    return new Promise<CommandOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({
          ok: false,
          error: { code: 'timeout', message: `no answer from the relay within ${timeoutMs} ms`, retryable: true },
        });
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
      try {
        ws.send(encodeControl({ type: MSG.cmd, id, name, deadline, args }));
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve({
          ok: false,
          error: { code: 'host_offline', message: `send failed: ${String(err)}`, retryable: true },
        });
      }
    });
  }

  /** Closes the agent's connection (token rotated or host deleted); it must reconnect with a valid token. */
  async kick(reason: string): Promise<void> {
    for (const ws of this.ctx.getWebSockets(AGENT_TAG)) {
      try {
        ws.close(CLOSE_CODE.kicked, reason);
      } catch {
        /* already closed */
      }
    }
    this.failPending('host_offline', reason);
    const hostId = await this.ctx.storage.get<string>('hostId');
    if (hostId) await markOffline(this.deps, hostId, `disconnected by the edge: ${reason}`);
  }

  async pushRoute(route: Route): Promise<boolean> {
    const ws = this.agent();
    if (!ws) return false;
    ws.send(encodeControl({ type: MSG.routeUpsert, route }));
    return true;
  }

  /** Removes a route; true once the agent has processed it (its pong follows the removal in order). */
  async removeRoute(environmentId: string, timeoutMs = 5000): Promise<boolean> {
    const ws = this.agent();
    if (!ws) return false;
    ws.send(encodeControl({ type: MSG.routeRemove, environment_id: environmentId }));
    const ts = Date.now() + Math.random();
    const r = await new Promise<CommandOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(`pong:${ts}`);
        resolve({ ok: false, error: { code: 'timeout', message: 'no pong' } });
      }, timeoutMs);
      this.pending.set(`pong:${ts}`, { resolve, timer });
      ws.send(encodeControl({ type: MSG.ping, ts }));
    });
    return r.ok;
  }
}
