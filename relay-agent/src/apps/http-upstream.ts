// One tunnelled HTTP request to `target_ip:port` with node:http: head sent at once, body under our credit grants, response through StreamOut.
import { request, type Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import {
  CREDIT_GRANT_BATCH,
  FRAME,
  HOP_BY_HOP_HEADERS,
  RESET,
  connectionNamed,
  creditPayload,
  encodeFrame,
  type OpenHead,
  type ResponseHead,
} from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';
import { StreamOut, type SendFrame } from './frame-out.ts';
/** Safe to send twice (RFC 9110 §9.2.2): retried once when a kept-alive socket dies under them. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

function responseHead(res: IncomingMessage, websocket = false): ResponseHead {
  const headers: [string, string][] = [];
  const raw = res.rawHeaders;
  // Connection-specific response fields never cross the tunnel (the edge speaks its own HTTP to the client).
  const named = connectionNamed(res.headers.connection);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!HOP_BY_HOP_HEADERS.has(name) && !named.has(name)) headers.push([raw[i]!, raw[i + 1]!]);
  }
  return { status: res.statusCode ?? 502, headers, websocket };
}

/** Streams a target's response into the tunnel, pausing it while the edge's credit is used up. */
export function pipeResponse(res: IncomingMessage, out: StreamOut, onFail?: (reason: string) => void): void {
  out.head(responseHead(res));
  const failed = (reason: string) => {
    onFail?.(reason);
    out.reset(RESET.error, reason);
  };
  res.on('data', (chunk: Buffer) => out.data(chunk));
  res.on('end', () => out.end());
  res.on('error', (err) => failed(`response from the app failed: ${err.message}`));
  res.on('aborted', () => failed('the app aborted its response'));
}

export class HttpUpstream {
  private readonly out: StreamOut;
  private req: ClientRequest | null = null;
  private res: IncomingMessage | null = null;
  private ungranted = 0;
  private bodyBytes = 0;
  private ended = false;
  private retried = false;
  private failed = false;
  private ip = '';
  private peer = '';
  private started = 0;
  private open: OpenHead | null = null;

  constructor(
    readonly id: number,
    private readonly send: SendFrame,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.out = new StreamOut(
      id,
      send,
      () => this.res?.pause(),
      () => this.res?.resume(),
    );
  }

  get closed(): boolean {
    return this.out.closed;
  }

  start(open: OpenHead, ip: string, agent: Agent): void {
    this.open = open;
    this.ip = ip;
    this.peer = `${ip}:${open.port}`;
    this.started = this.now();
    this.issue(agent);
  }

  private issue(agent: Agent): void {
    const open = this.open!;
    const flat: string[] = [];
    for (const [k, v] of open.headers) flat.push(k, v);
    const req = request({
      host: this.ip,
      port: open.port,
      method: open.method,
      path: open.path,
      headers: flat,
      agent,
      setHost: false,
    });
    this.req = req;
    req.setNoDelay(true);
    req.on('response', (res) => {
      this.res = res;
      pipeResponse(res, this.out, (reason) => this.fail(reason));
    });
    req.on('error', (err) => {
      if (req !== this.req) return;
      // A kept-alive socket the app closed as we reused it: nothing reached the app, so a safe request goes again on a new one.
      if (
        req.reusedSocket &&
        !this.res &&
        !this.retried &&
        this.bodyBytes === 0 &&
        IDEMPOTENT.has(open.method) &&
        !this.out.closed
      ) {
        this.retried = true;
        this.log.debug('reused app connection died before any response byte: retrying on a new one', {
          peer: this.peer,
          err: err.message,
        });
        this.issue(agent);
        return;
      }
      const code = (err as NodeJS.ErrnoException).code;
      const reason = `${open.method} ${this.peer}: ${err.message}`;
      this.fail(reason, code);
      this.out.reset(code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' ? RESET.refused : RESET.error, reason);
    });
    // The head goes now, not with the first body byte: a body that starts late (a slow client, curl awaiting 100 Continue)
    // must not leave a reused connection looking idle to the app's keep-alive timer.
    if (!open.has_body || this.ended) req.end();
    else req.flushHeaders();
  }

  /** One warn line per failed request: what the operator needs to find it (env_id and port come with the logger). */
  private fail(reason: string, code?: string): void {
    if (this.failed) return;
    this.failed = true;
    const open = this.open;
    const client = open?.headers.find(([k]) => k.toLowerCase() === 'x-real-ip')?.[1];
    this.log.warn('app proxy failure', {
      kind: 'http',
      reason,
      peer: this.peer,
      method: open?.method,
      path: open?.path.slice(0, 200),
      client,
      elapsed_ms: this.now() - this.started,
      ...(code ? { code } : {}),
    });
  }

  /** Request body bytes from the edge; credit returns once they are handed to the target's socket. */
  data(chunk: Uint8Array): void {
    const req = this.req;
    if (!req || req.destroyed) return;
    this.bodyBytes += chunk.byteLength;
    req.write(chunk, () => this.granted(chunk.byteLength));
  }

  private granted(bytes: number): void {
    this.ungranted += bytes;
    // Credit for the request body goes back in batches, as the bytes reach the target's socket.
    if (this.ungranted < CREDIT_GRANT_BATCH || this.out.closed) return;
    this.send(encodeFrame(FRAME.credit, this.id, creditPayload(this.ungranted)));
    this.ungranted = 0;
  }

  end(): void {
    this.ended = true;
    this.req?.end();
  }

  credit(bytes: number): void {
    this.out.grant(bytes);
  }

  /**
   * The edge gave up (client gone, deadline) or the tunnel dropped: free the target connection at once. `reason` is
   * given when that is a failure the operator should see (a deadline, a lost data connection), not a client leaving.
   */
  abort(reason?: string): void {
    if (reason && !this.out.closed) this.fail(reason);
    this.out.closed = true;
    this.req?.destroy();
    this.res?.destroy();
  }
}
