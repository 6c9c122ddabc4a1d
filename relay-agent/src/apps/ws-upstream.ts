// One bridged WebSocket: the agent's `ws` client to `ws://target_ip:port/path`, messages and close codes as frames.
import WebSocket from 'ws';
import { FLAG_TEXT, FRAME, MAX_FRAME_PAYLOAD, RESET, closePayload, encodeFrame, type OpenHead } from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';
import { StreamOut, type SendFrame } from './frame-out.ts';
import { pipeResponse } from './http-upstream.ts';

const HANDSHAKE_MS = 30_000;

export class WsUpstream {
  private ws: WebSocket | null = null;
  private opened = false;
  private done = false;

  constructor(readonly id: number, private readonly send: SendFrame, private readonly log: Logger) {}

  get closed(): boolean {
    return this.done;
  }

  start(open: OpenHead, ip: string): void {
    let protocols: string[] = [];
    const headers: Record<string, string> = {};
    for (const [k, v] of open.headers) {
      const name = k.toLowerCase();
      if (name === 'sec-websocket-protocol') protocols = v.split(',').map((p) => p.trim()).filter(Boolean);
      else headers[name] = headers[name] ? `${headers[name]}, ${v}` : v;
    }
    const ws = new WebSocket(`ws://${ip}:${open.port}${open.path}`, protocols, {
      headers, perMessageDeflate: false, handshakeTimeout: HANDSHAKE_MS, maxPayload: MAX_FRAME_PAYLOAD,
    });
    this.ws = ws;
    ws.on('open', () => {
      this.opened = true;
      const head: [string, string][] = ws.protocol ? [['sec-websocket-protocol', ws.protocol]] : [];
      this.send(encodeFrame(FRAME.head, this.id, new TextEncoder().encode(JSON.stringify({ status: 101, headers: head, websocket: true }))));
    });
    // The app answered the upgrade with plain HTTP (a 403, a redirect to a login): the browser gets that answer.
    ws.on('unexpected-response', (_req, res) => {
      this.done = true;
      pipeResponse(res, new StreamOut(this.id, this.send, () => res.pause(), () => res.resume()));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.done) return;
      this.send(encodeFrame(FRAME.wsMessage, this.id, data, isBinary ? 0 : FLAG_TEXT));
    });
    ws.on('close', (code, reason) => {
      if (this.done) return;
      this.done = true;
      this.send(encodeFrame(FRAME.wsClose, this.id, closePayload(code, reason.toString('utf8'))));
    });
    ws.on('error', (err) => {
      if (this.done) return;
      if (!this.opened) {
        this.done = true;
        this.send(encodeFrame(FRAME.reset, this.id, closePayload(RESET.refused, `WebSocket to ${ip}:${open.port}: ${err.message}`)));
      }
      this.log.debug('app websocket error', { env_id: open.environment_id, port: open.port, err: err.message });
    });
  }

  message(payload: Uint8Array, text: boolean): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(text ? Buffer.from(payload).toString('utf8') : payload, { binary: !text });
  }

  /** The browser closed: pass its code on (1005 = no code: close without one). */
  close(code: number, reason: string): void {
    const ws = this.ws;
    this.done = true;
    if (!ws) return;
    if (ws.readyState === WebSocket.CONNECTING) { ws.terminate(); return; }
    const sendable = code >= 1000 && code <= 4999 && code !== 1005 && code !== 1006 && code !== 1015;
    try {
      if (sendable) ws.close(code, reason);
      else ws.close();
    } catch {
      ws.terminate();
    }
  }

  abort(): void {
    this.done = true;
    this.ws?.terminate();
  }
}
