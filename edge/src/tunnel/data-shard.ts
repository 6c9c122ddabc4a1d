// DataShard: one Durable Object per data shard of a relay (`<hostId>:data:<i>`): app streams and bridged browser WebSockets as binary frames over the agent's data socket.
import {
  CLOSE_CODE,
  CREDIT_GRANT_BATCH,
  FLAG_TEXT,
  FRAME,
  HEAD_FLAG_COMPLETE,
  HOP_BY_HOP_HEADERS,
  MAX_WS_MESSAGE,
  MSG,
  protocolRefusal,
  RESET,
  WsJoiner,
  closePayload,
  connectionNamed,
  creditPayload,
  decodeControl,
  decodeFrame,
  encodeControl,
  encodeFrame,
  readClose,
  readCredit,
  splitCompleteHead,
  wsMessageFrames,
  type Frame,
  type ResponseHead,
} from '@remotegpu/schema';
import { DurableObject } from 'cloudflare:workers';
import { readConfig } from '../config.ts';
import type { Bindings } from '../env.ts';
import { HttpStream, type HeadOutcome } from './data-stream.ts';
import { badHello } from './hello-check.ts';
import { openMeta, type OpenMeta } from './shard-request.ts';

/** The agent's response head, checked by hand: this runs once per request on the shard's only thread. */
function parseResponseHead(bytes: Uint8Array): ResponseHead | null {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(bytes));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const { status, headers, websocket } = v as Record<string, unknown>;
  if (
    typeof status !== 'number' ||
    !Number.isInteger(status) ||
    status < 100 ||
    status > 999 ||
    !Array.isArray(headers)
  )
    return null;
  for (const h of headers)
    if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== 'string' || typeof h[1] !== 'string') return null;
  return { status, headers: headers as [string, string][], websocket: websocket === true };
}

const CLIENT_TAG = 'client';
const clientTag = (stream: number) => `${CLIENT_TAG}:${stream}`;
/** App → browser messages being joined, and the credit owed to the agent for their parts. */
interface WsIn {
  joiner: WsJoiner;
  ungranted: number;
}
interface AgentConn {
  ws: WebSocket;
  hostId: string;
  shard: number;
  hello: boolean;
  /** When the agent last sent anything (its pings come every heartbeat period). */
  lastSeen: number;
}

const NULL_BODY = new Set([101, 204, 205, 304]);
const enc = new TextEncoder();
const dec = new TextDecoder();

function fail(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status, headers: { 'x-remotegpu-error': code } });
}

/**
 * Browser WebSockets are accepted with the hibernation API for its tags and handlers, but they never hibernate: a shard
 * holds them only while the agent's data socket (accepted without hibernation) is open, and that keeps the object in
 * memory (a test in edge/test/apps.test.ts shows it). So their stream id and state live in memory, with no attachment.
 */
export class DataShard extends DurableObject<Bindings> {
  private readonly streams = new Map<number, HttpStream>();
  private readonly wsIn = new Map<number, WsIn>();
  /** Bridged browser sockets: their stream, and whether the app (or the edge) already closed them. */
  private readonly clients = new Map<WebSocket, { stream: number; closing: boolean }>();
  private nextId = 1;
  private conn: AgentConn | null = null;
  private hbMs = 0;
  private get heartbeatMs(): number {
    this.hbMs ||= readConfig(this.env).heartbeatMs;
    return this.hbMs;
  }

  /** The Worker forwards the agent's authenticated data upgrade (`/agent/connect`) or an app request (`/open`) here. */
  override async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname !== '/agent/connect') return this.proxy(request);
    const hostId = request.headers.get('x-remotegpu-host-id');
    const shard = Number(request.headers.get('x-remotegpu-data-shard'));
    if (!hostId || !Number.isInteger(shard) || request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected an agent WebSocket', { status: 400 });
    }
    return this.acceptAgent(hostId, shard);
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const c = this.clients.get(ws);
    if (c) this.fromClient(c.stream, message);
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    this.closed(ws, code, reason);
  }

  /**
   * A bridged browser WebSocket failed. workerd refuses a message over its 32 MiB limit this way (and closes the browser
   * with 1009) but hands us only the error's text: the app then hears 1009 too, anything else is 1006.
   */
  override webSocketError(ws: WebSocket, error: unknown): void {
    const text = String(error);
    const tooBig = /message is too large/i.test(text);
    this.closed(ws, tooBig ? 1009 : 1006, tooBig ? 'message too big' : text.slice(0, 120));
  }

  private acceptAgent(hostId: string, shard: number): Response {
    const old = this.conn;
    if (old) {
      this.conn = null;
      try {
        old.ws.close(CLOSE_CODE.replaced, 'replaced by a newer connection');
      } catch {
        /* closing */
      }
      this.agentGone('replaced by a newer data connection');
    }
    const pair = new WebSocketPair();
    const ws = pair[1];
    // Not hibernatable on purpose: every hibernation event pays for an attachment and a new context, per frame;
    // a connected agent pings every 20 s, so the shard would not sleep anyway.
    ws.accept();
    ws.binaryType = 'arraybuffer';
    const conn: AgentConn = { ws, hostId, shard, hello: false, lastSeen: Date.now() };
    this.conn = conn;
    ws.addEventListener('message', (e) => this.fromAgent(conn, e.data as string | ArrayBuffer));
    ws.addEventListener('close', (e) => this.agentClosed(conn, `${e.code} ${e.reason}`));
    ws.addEventListener('error', () => this.agentClosed(conn, 'socket error'));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  private agent(): WebSocket | null {
    const c = this.conn;
    // A socket that went silent (its traffic dropped on the way) looks open for minutes: three missed heartbeats
    // mean the relay is gone, its streams fail and new requests get a clear 502 instead of waiting on it.
    if (c && Date.now() - c.lastSeen > 3 * this.heartbeatMs) this.agentClosed(c, 'missed three heartbeats');
    const live = this.conn;
    return live && live.hello && live.ws.readyState === WebSocket.OPEN ? live.ws : null;
  }

  private agentClosed(conn: AgentConn, why: string): void {
    if (this.conn !== conn) return; // replaced: the newer connection owns the streams now
    this.conn = null;
    try {
      conn.ws.close(CLOSE_CODE.closing, 'closing');
    } catch {
      /* closed */
    }
    this.agentGone(`the relay's data connection closed (${why})`);
  }

  private sender(ws: WebSocket): (frame: Uint8Array) => boolean {
    return (frame) => {
      try {
        ws.send(frame);
        return true;
      } catch {
        return false;
      }
    };
  }

  /** A request from the Worker: open a stream, wait for the head (up to the deadline), answer with the streamed response. */
  private async proxy(request: Request): Promise<Response> {
    const meta = openMeta(request.headers);
    if (!meta) return fail(400, 'bad_request', 'malformed open header');
    const ws = this.agent();
    if (!ws) return fail(502, 'host_offline', 'the relay serving this environment is not connected');
    const id = this.nextId;
    this.nextId = this.nextId >= 0xfffffff0 ? 1 : this.nextId + 1;
    const send = this.sender(ws);
    const s = new HttpStream(id, send, (done) => {
      if (this.streams.get(done.id) === done) this.streams.delete(done.id);
    });
    this.streams.set(id, s);
    const head = s.waitHead(meta.firstByteMs);
    if (!send(encodeFrame(FRAME.open, id, enc.encode(meta.json))))
      s.settleHead({ kind: 'offline', reason: 'send failed' });
    else if (meta.hasBody && request.body) void s.upload(request.body);
    return this.answer(s, await head, meta);
  }

  private answer(s: HttpStream, o: HeadOutcome, meta: OpenMeta): Response {
    if (o.kind === 'timeout') {
      s.cancel('no response before the deadline', RESET.timeout);
      return fail(
        504,
        'gateway_timeout',
        `the app sent no response within ${meta.firstByteMs} ms (the first-byte limit set for this app)`,
      );
    }
    if (o.kind === 'offline') {
      s.fail(o.reason);
      return fail(502, 'host_offline', `the relay went away: ${o.reason}`);
    }
    if (o.kind === 'reset') {
      s.fail(o.reason);
      return fail(502, 'bad_gateway', `the app is unreachable: ${o.reason || 'stream reset'}`);
    }
    const head = o.head;
    if (head.websocket && meta.websocket) return this.acceptClient(s, head);
    const headers = new Headers();
    const named = connectionNamed(head.headers.find(([k]) => k.toLowerCase() === 'connection')?.[1]);
    for (const [k, v] of head.headers) {
      const name = k.toLowerCase();
      if (!HOP_BY_HOP_HEADERS.has(name) && !named.has(name)) headers.append(k, v);
    }
    // An already-encoded body passes as is; otherwise identity keeps workerd from gzipping (and so buffering) a stream.
    const encoded = headers.has('content-encoding');
    const init = { status: head.status, headers, encodeBody: encoded ? ('manual' as const) : ('automatic' as const) };
    const noBody = NULL_BODY.has(head.status) || meta.headOnly;
    if (o.body !== undefined) {
      s.end();
      return new Response(noBody ? null : o.body, init);
    }
    if (noBody) {
      s.end();
      return new Response(null, init);
    }
    if (!encoded) headers.set('content-encoding', 'identity');
    const len = headers.get('content-length');
    const n = len !== null && /^\d{1,15}$/.test(len) ? Number(len) : null;
    return new Response(s.body(n), init);
  }

  private acceptClient(s: HttpStream, head: ResponseHead): Response {
    s.end(); // the HTTP part is over; frames now go to the client socket by its tag
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [CLIENT_TAG, clientTag(s.id)]);
    this.clients.set(pair[1], { stream: s.id, closing: false });
    const headers = new Headers();
    const protocol = head.headers.find(([k]) => k.toLowerCase() === 'sec-websocket-protocol');
    if (protocol) headers.set('sec-websocket-protocol', protocol[1]);
    return new Response(null, { status: 101, webSocket: pair[0], headers });
  }

  private fromAgent(conn: AgentConn, message: string | ArrayBuffer): void {
    conn.lastSeen = Date.now();
    if (!conn.hello && typeof message !== 'string') {
      conn.ws.close(CLOSE_CODE.badHello, badHello(decodeControl(message)) ?? 'hello first');
      return;
    }
    if (typeof message === 'string') {
      this.control(conn, message);
      return;
    }
    const d = decodeFrame(message);
    if (!d.ok) {
      console.log(
        JSON.stringify({
          level: 'warn',
          msg: 'data frame ignored',
          error: d.error,
          host_id: conn.hostId,
          shard: conn.shard,
        }),
      );
      return;
    }
    this.frame(d.frame);
  }

  private control(conn: AgentConn, text: string): void {
    const d = decodeControl(text);
    if (!conn.hello) {
      const why = badHello(d);
      if (why) {
        console.log(JSON.stringify({ level: 'warn', msg: 'hello refused', reason: why, host_id: conn.hostId }));
        conn.ws.close(CLOSE_CODE.badHello, why);
        return;
      }
    }
    if (!d.ok) return;
    const m = d.value;
    if (m.type === MSG.hello) {
      const refusal = protocolRefusal(m.protocol);
      if (refusal) {
        conn.ws.close(CLOSE_CODE.protocolMismatch, refusal);
        return;
      }
      conn.hello = true;
      conn.ws.send(
        encodeControl({
          type: MSG.welcome,
          protocol: m.protocol,
          host_id: conn.hostId,
          heartbeat_ms: this.heartbeatMs,
          routes: [],
        }),
      );
    } else if (m.type === MSG.ping) {
      conn.ws.send(encodeControl({ type: MSG.pong, ts: m.ts }));
    }
  }

  private frame(f: Frame): void {
    switch (f.kind) {
      case FRAME.head: {
        const s = this.streams.get(f.stream);
        if (!s) return;
        const complete = (f.flags & HEAD_FLAG_COMPLETE) !== 0 ? splitCompleteHead(f.payload) : null;
        const head = parseResponseHead(complete ? complete.head : f.payload);
        if (!head) {
          s.settleHead({ kind: 'reset', code: RESET.error, reason: 'invalid response head from the relay' });
          return;
        }
        // The frame is a view of a message buffer that is not reused: the body can be handed on without a copy.
        s.settleHead({ kind: 'head', head, ...(complete ? { body: complete.body } : {}) });
        return;
      }
      case FRAME.data:
        this.streams.get(f.stream)?.data(f.payload);
        return;
      case FRAME.end:
        this.streams.get(f.stream)?.end();
        return;
      case FRAME.credit:
        this.streams.get(f.stream)?.credit(readCredit(f.payload));
        return;
      case FRAME.reset: {
        const s = this.streams.get(f.stream);
        const { code, reason } = readClose(f.payload);
        this.wsIn.delete(f.stream);
        if (s && !s.settleHead({ kind: 'reset', code, reason })) s.fail(`the app's stream was reset: ${reason}`);
        for (const c of this.ctx.getWebSockets(clientTag(f.stream))) this.closeClient(c, 1011, 'upstream reset');
        return;
      }
      case FRAME.wsPart:
      case FRAME.wsMessage:
        this.wsFromAgent(f);
        return;
      case FRAME.wsClose: {
        this.wsIn.delete(f.stream);
        const { code, reason } = readClose(f.payload);
        for (const c of this.ctx.getWebSockets(clientTag(f.stream))) this.closeClient(c, code, reason);
        return;
      }
      default:
    }
  }

  /** A part or the end of an app message: joined here (a browser gets whole messages), credit back as parts arrive. */
  private wsFromAgent(f: Frame): void {
    let w = this.wsIn.get(f.stream);
    if (!w) {
      w = { joiner: new WsJoiner(), ungranted: 0 };
      this.wsIn.set(f.stream, w);
    }
    const j = w.joiner.push(f.payload, (f.flags & FLAG_TEXT) !== 0, f.kind === FRAME.wsMessage);
    w.ungranted += f.payload.byteLength;
    const agent = this.agent();
    if (agent && (w.ungranted >= CREDIT_GRANT_BATCH || j.kind !== 'partial')) {
      this.sender(agent)(encodeFrame(FRAME.credit, f.stream, creditPayload(w.ungranted)));
      w.ungranted = 0;
    }
    const clients = this.ctx.getWebSockets(clientTag(f.stream));
    if (j.kind === 'too_large') {
      // The agent never sends more than MAX_WS_MESSAGE: this is a protocol fault, closed like any oversized message.
      for (const c of clients) this.closeClient(c, 1009, 'message too big');
      if (agent) this.sender(agent)(encodeFrame(FRAME.wsClose, f.stream, closePayload(1009, 'message too big')));
      return;
    }
    if (j.kind !== 'message') return;
    for (const c of clients) {
      try {
        c.send(j.text ? dec.decode(j.data) : j.data);
      } catch {
        /* closing */
      }
    }
  }

  private closeClient(c: WebSocket, code: number, reason: string): void {
    const a = this.clients.get(c);
    if (a) a.closing = true;
    try {
      // 1005/1006/1015 describe a close, they cannot be sent: a close without a code says the same.
      if (code === 1005 || code === 1006 || code === 1015 || code < 1000 || code > 4999) c.close();
      else c.close(code, reason);
    } catch {
      /* already closed */
    }
  }

  private fromClient(stream: number, message: string | ArrayBuffer): void {
    const ws = this.agent();
    const text = typeof message === 'string';
    const payload = text ? enc.encode(message) : new Uint8Array(message);
    if (!ws) {
      for (const c of this.ctx.getWebSockets(clientTag(stream)))
        this.closeClient(c, 1011, 'the relay is not connected');
      return;
    }
    if (payload.byteLength > MAX_WS_MESSAGE) {
      for (const c of this.ctx.getWebSockets(clientTag(stream))) this.closeClient(c, 1009, 'message too big');
      this.sender(ws)(encodeFrame(FRAME.wsClose, stream, closePayload(1009, 'message too big')));
      return;
    }
    // A message bigger than a frame goes as parts; the browser's socket cannot be paused, so they go at once (one message at a time).
    const send = this.sender(ws);
    for (const frame of wsMessageFrames(stream, payload, text)) send(frame);
  }

  /** A bridged browser WebSocket closed: the app hears the same code (unless the close came from the app). */
  private closed(ws: WebSocket, code: number, reason: string): void {
    const a = this.clients.get(ws);
    if (!a) return;
    this.wsIn.delete(a.stream);
    if (!a.closing) {
      const agent = this.agent();
      if (agent) this.sender(agent)(encodeFrame(FRAME.wsClose, a.stream, closePayload(code, reason)));
    }
    this.closeClient(ws, code, reason);
    this.clients.delete(ws);
  }

  /** The agent is gone: every stream fails cleanly and every bridged WebSocket closes with 1012 (service restart). */
  private agentGone(reason: string): void {
    for (const s of [...this.streams.values()]) if (!s.settleHead({ kind: 'offline', reason })) s.fail(reason);
    this.streams.clear();
    this.wsIn.clear();
    for (const c of this.ctx.getWebSockets(CLIENT_TAG)) this.closeClient(c, 1012, 'the relay disconnected');
  }
}
