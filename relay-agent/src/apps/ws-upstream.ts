// One bridged WebSocket: the agent's `ws` client to `ws://target_ip:port/path`, messages (split into parts under the edge's credit) and close codes as frames.
import WebSocket from 'ws';
import {
  FRAME,
  HEADER_BYTES,
  INITIAL_CREDIT,
  MAX_WS_MESSAGE,
  RESET,
  WsJoiner,
  closePayload,
  encodeFrame,
  wsMessageFrames,
  type OpenHead,
} from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';
import { StreamOut, type SendFrame } from './frame-out.ts';
import { pipeResponse } from './http-upstream.ts';

const HANDSHAKE_MS = 30_000;
/** Close codes that mean something went wrong (abnormal, too big, internal error): each one is an operator's log line. */
const FAILURE_CLOSES = new Set([1006, 1009, 1011]);

export class WsUpstream {
  private ws: WebSocket | null = null;
  private opened = false;
  private done = false;
  private failed = false;
  private readonly joiner = new WsJoiner();
  /** Message bytes the edge still accepts; beyond it frames wait here and the app's socket is paused. */
  private credit = INITIAL_CREDIT;
  private queue: Uint8Array[] = [];
  private peer = '';

  constructor(
    readonly id: number,
    private readonly send: SendFrame,
    private readonly log: Logger,
  ) {}

  get closed(): boolean {
    return this.done;
  }

  /** One warn line per bridged socket that fails, whichever side saw it first. */
  private fail(reason: string, fields: Record<string, unknown> = {}): void {
    if (this.failed) return;
    this.failed = true;
    this.log.warn('app proxy failure', { kind: 'websocket', reason, peer: this.peer, ...fields });
  }

  start(open: OpenHead, ip: string): void {
    this.peer = `${ip}:${open.port}`;
    let protocols: string[] = [];
    const headers: Record<string, string> = {};
    for (const [k, v] of open.headers) {
      const name = k.toLowerCase();
      if (name === 'sec-websocket-protocol')
        protocols = v
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean);
      else headers[name] = headers[name] ? `${headers[name]}, ${v}` : v;
    }
    // `ws`'s own limit is the tunnel's message limit, not its frame size: messages are split into parts below.
    const ws = new WebSocket(`ws://${ip}:${open.port}${open.path}`, protocols, {
      headers,
      perMessageDeflate: false,
      handshakeTimeout: HANDSHAKE_MS,
      maxPayload: MAX_WS_MESSAGE,
    });
    this.ws = ws;
    ws.on('open', () => {
      this.opened = true;
      const head: [string, string][] = ws.protocol ? [['sec-websocket-protocol', ws.protocol]] : [];
      this.send(
        encodeFrame(
          FRAME.head,
          this.id,
          new TextEncoder().encode(JSON.stringify({ status: 101, headers: head, websocket: true })),
        ),
      );
    });
    // The app answered the upgrade with plain HTTP (a 403, a redirect to a login): the browser gets that answer.
    ws.on('unexpected-response', (_req, res) => {
      this.done = true;
      pipeResponse(
        res,
        new StreamOut(
          this.id,
          this.send,
          () => res.pause(),
          () => res.resume(),
        ),
      );
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.done) return;
      for (const f of wsMessageFrames(this.id, data, !isBinary)) this.queue.push(f);
      this.flush();
    });
    ws.on('close', (code, reason) => {
      if (this.done) return;
      this.done = true;
      this.queue = [];
      const why = reason.toString('utf8');
      if (FAILURE_CLOSES.has(code))
        this.fail(`the app's WebSocket closed with ${code}${why ? ` (${why})` : ''}`, { code });
      this.send(encodeFrame(FRAME.wsClose, this.id, closePayload(code, why)));
    });
    ws.on('error', (err) => {
      if (this.done) return;
      if (!this.opened) {
        this.done = true;
        this.send(
          encodeFrame(
            FRAME.reset,
            this.id,
            closePayload(RESET.refused, `WebSocket to ${ip}:${open.port}: ${err.message}`),
          ),
        );
      }
      // `ws` closes with 1006/1009 after an error: one line, with the error's own words.
      this.fail(`WebSocket to the app: ${err.message}`);
    });
  }

  /** Sends queued frames while the edge's credit lasts; pauses the app's socket until it comes back. */
  private flush(): void {
    while (this.queue.length && this.credit > 0) {
      const f = this.queue.shift()!;
      this.credit -= f.byteLength - HEADER_BYTES;
      this.send(f);
    }
    if (this.queue.length) this.ws?.pause();
    else if (this.ws?.isPaused) this.ws.resume();
  }

  /** The edge passed parts on: more may go. */
  grant(bytes: number): void {
    this.credit += bytes;
    if (!this.done) this.flush();
  }

  /** A WS_PART (`last` false) or WS_MESSAGE from the browser; joined, then sent to the app as one message. */
  message(payload: Uint8Array, text: boolean, last: boolean): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const j = this.joiner.push(payload, text, last);
    if (j.kind === 'too_large') {
      this.fail(`a browser message of over ${j.bytes} bytes exceeds the ${MAX_WS_MESSAGE}-byte limit`, { code: 1009 });
      ws.close(1009, 'message too big');
      return;
    }
    if (j.kind === 'message') ws.send(j.text ? Buffer.from(j.data).toString('utf8') : j.data, { binary: !j.text });
  }

  /** The browser closed: pass its code on (1005 = no code: close without one). */
  close(code: number, reason: string): void {
    const ws = this.ws;
    this.done = true;
    if (FAILURE_CLOSES.has(code))
      this.fail(`the browser's WebSocket closed with ${code}${reason ? ` (${reason})` : ''}`, { code });
    if (!ws) return;
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
      return;
    }
    const sendable = code >= 1000 && code <= 4999 && code !== 1005 && code !== 1006 && code !== 1015;
    try {
      if (sendable) ws.close(code, reason);
      else ws.close();
    } catch {
      ws.terminate();
    }
  }

  /** The edge reset the stream or the data connection dropped. */
  abort(reason?: string): void {
    if (reason && !this.done) this.fail(reason);
    this.done = true;
    this.ws?.terminate();
  }
}
