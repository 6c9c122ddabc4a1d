// One tunnelled HTTP request to `target_ip:port` with node:http: request body under our credit grants, response through StreamOut.
import { request, type Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import { FRAME, RESET, creditPayload, encodeFrame, type OpenHead, type ResponseHead } from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';
import { StreamOut, type SendFrame } from './frame-out.ts';

/** Connection-specific response fields never cross the tunnel (the edge speaks its own HTTP to the client). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer', 'te']);
/** Credit for the request body goes back in batches, as the bytes reach the target's socket. */
const GRANT_BATCH = 256 * 1024;

export function responseHead(res: IncomingMessage, websocket = false): ResponseHead {
  const headers: [string, string][] = [];
  const raw = res.rawHeaders;
  // Fields the app's Connection header names are hop-by-hop too (RFC 9110 §7.6.1).
  const named = new Set(String(res.headers.connection ?? '').toLowerCase().split(',').map((t) => t.trim()).filter(Boolean));
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!HOP_BY_HOP.has(name) && !named.has(name)) headers.push([raw[i]!, raw[i + 1]!]);
  }
  return { status: res.statusCode ?? 502, headers, websocket };
}

/** Streams a target's response into the tunnel, pausing it while the edge's credit is used up. */
export function pipeResponse(res: IncomingMessage, out: StreamOut): void {
  out.head(responseHead(res));
  res.on('data', (chunk: Buffer) => out.data(chunk));
  res.on('end', () => out.end());
  res.on('error', (err) => out.reset(RESET.error, `response from the app failed: ${err.message}`));
  res.on('aborted', () => out.reset(RESET.error, 'the app aborted its response'));
}

export class HttpUpstream {
  private readonly out: StreamOut;
  private req: ClientRequest | null = null;
  private res: IncomingMessage | null = null;
  private ungranted = 0;

  constructor(readonly id: number, private readonly send: SendFrame, private readonly log: Logger) {
    this.out = new StreamOut(id, send, () => this.res?.pause(), () => this.res?.resume());
  }

  get closed(): boolean {
    return this.out.closed;
  }

  start(open: OpenHead, ip: string, agent: Agent): void {
    const flat: string[] = [];
    for (const [k, v] of open.headers) flat.push(k, v);
    const req = request({ host: ip, port: open.port, method: open.method, path: open.path, headers: flat, agent, setHost: false });
    this.req = req;
    req.setNoDelay(true);
    req.on('response', (res) => {
      this.res = res;
      pipeResponse(res, this.out);
    });
    req.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      this.out.reset(code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' ? RESET.refused : RESET.error, `${open.method} ${ip}:${open.port}: ${err.message}`);
      this.log.debug('app request failed', { env_id: open.environment_id, port: open.port, err: err.message });
    });
    if (!open.has_body) req.end();
  }

  /** Request body bytes from the edge; credit returns once they are handed to the target's socket. */
  data(chunk: Uint8Array): void {
    const req = this.req;
    if (!req || req.destroyed) return;
    req.write(chunk, () => this.granted(chunk.byteLength));
  }

  private granted(bytes: number): void {
    this.ungranted += bytes;
    if (this.ungranted < GRANT_BATCH || this.out.closed) return;
    this.send(encodeFrame(FRAME.credit, this.id, creditPayload(this.ungranted)));
    this.ungranted = 0;
  }

  end(): void {
    this.req?.end();
  }

  credit(bytes: number): void {
    this.out.grant(bytes);
  }

  /** The edge gave up (client gone, deadline) or the tunnel dropped: free the target connection at once. */
  abort(): void {
    this.out.closed = true;
    this.req?.destroy();
    this.res?.destroy();
  }
}
