// The streams of one data connection: OPEN frames become requests to the environment's target from OUR route table.
import { Agent } from 'node:http';
import {
  FLAG_TEXT,
  FRAME,
  OpenHead,
  RESET,
  closePayload,
  decodeFrame,
  decodeHead,
  encodeFrame,
  readClose,
  readCredit,
} from '@remotegpu/schema';
import type { AuditSink, Logger, RouteTable } from '../contracts.ts';
import { FileStream, type OpenSftp } from '../files/file-stream.ts';
import type { TerminalSessions } from '../terminal/sessions.ts';
import { TerminalStream } from '../terminal/stream.ts';
import type { SendFrame } from './frame-out.ts';
import { HttpUpstream } from './http-upstream.ts';
import { WsUpstream } from './ws-upstream.ts';

type Upstream = HttpUpstream | WsUpstream | FileStream | TerminalStream;

/** File streams (`OpenHead.file`): SFTP on the environment's target, audited. Absent: such streams are refused. */
export interface FileAccess {
  openSftp: OpenSftp;
  audit: AuditSink;
}
/** The streams that carry WebSocket messages. */
const isSocket = (s: Upstream | undefined): s is WsUpstream | TerminalStream =>
  s instanceof WsUpstream || s instanceof TerminalStream;

/**
 * How long a kept-alive connection to an app may sit idle in our pool. Apps close idle connections on their own timers
 * (Node 5 s, uvicorn 5 s, gunicorn 2 s) and a reuse racing that close fails: stay under the shortest common one.
 * (A `Keep-Alive: timeout=N` hint from the app shortens it further: Node's agent honours it only when this is set.)
 */
const POOL_IDLE_MS = 1_500;

/** Keep-alive to targets: a new TCP connection per request would cost more than the tunnel itself. */
export function targetAgent(): Agent {
  return new Agent({
    keepAlive: true,
    keepAliveMsecs: 10_000,
    maxFreeSockets: 64,
    scheduling: 'lifo',
    timeout: POOL_IDLE_MS,
  });
}

export class StreamMux {
  private readonly streams = new Map<number, Upstream>();

  constructor(
    private readonly send: SendFrame,
    private readonly routes: Pick<RouteTable, 'byEnv'>,
    private readonly agent: Agent,
    private readonly log: Logger,
    private readonly files: FileAccess | null = null,
    private readonly terminals: TerminalSessions | null = null,
  ) {}

  get size(): number {
    return this.streams.size;
  }

  frame(data: Buffer): void {
    const d = decodeFrame(data);
    if (!d.ok) {
      this.log.warn('bad data frame ignored', { error: d.error });
      return;
    }
    const f = d.frame;
    const s = this.streams.get(f.stream);
    switch (f.kind) {
      case FRAME.open:
        this.open(f.stream, f.payload);
        return;
      case FRAME.data:
        if (s instanceof HttpUpstream || s instanceof FileStream) s.data(f.payload);
        return;
      case FRAME.end:
        if (s instanceof HttpUpstream || s instanceof FileStream) s.end();
        this.sweep(f.stream);
        return;
      case FRAME.credit:
        if (s instanceof HttpUpstream || s instanceof FileStream) s.credit(readCredit(f.payload));
        else s?.grant(readCredit(f.payload));
        this.sweep(f.stream);
        return;
      case FRAME.reset: {
        const { code, reason } = readClose(f.payload);
        // A client that leaves is no failure; a deadline or an edge-side error is.
        s?.abort(
          code === RESET.cancelled
            ? undefined
            : code === RESET.timeout
              ? `the edge answered 504: ${reason}`
              : `the edge reset the stream: ${reason}`,
        );
        this.streams.delete(f.stream);
        return;
      }
      case FRAME.wsPart:
        if (isSocket(s)) s.message(f.payload, (f.flags & FLAG_TEXT) !== 0, false);
        return;
      case FRAME.wsMessage:
        if (isSocket(s)) s.message(f.payload, (f.flags & FLAG_TEXT) !== 0, true);
        return;
      case FRAME.wsClose: {
        if (isSocket(s)) s.close(readClose(f.payload).code, readClose(f.payload).reason);
        this.streams.delete(f.stream);
        return;
      }
      default:
    }
  }

  private open(id: number, payload: Uint8Array): void {
    const head = decodeHead(OpenHead, payload);
    if (!head.ok) {
      this.send(encodeFrame(FRAME.reset, id, closePayload(RESET.error, `bad open: ${head.error}`)));
      return;
    }
    const open = head.value;
    // Only our own route table says where an environment lives: the edge names an environment, never an address.
    const route = this.routes.byEnv(open.environment_id);
    const log = this.log.child({ env_id: open.environment_id, port: open.port });
    const refuse = (reason: string) => {
      log.warn('app proxy failure', {
        kind: open.websocket ? 'websocket' : 'http',
        reason,
        peer: route?.target_ip ? `${route.target_ip}:${open.port}` : null,
        method: open.method,
      });
      this.send(encodeFrame(FRAME.reset, id, closePayload(RESET.refused, reason)));
    };
    if (!route || !route.target_ip) {
      refuse('this relay has no route to the environment');
      return;
    }
    if (!route.running) {
      refuse('the environment is stopped');
      return;
    }
    if (open.file) {
      if (!this.files) {
        refuse('this relay serves no file transfers');
        return;
      }
      const clientIp = open.headers.find(([k]) => k.toLowerCase() === 'x-real-ip')?.[1] ?? null;
      const fs = new FileStream(id, this.send, { route, file: open.file, clientIp, audit: this.files.audit, log });
      this.streams.set(id, fs);
      fs.start(this.files.openSftp);
      this.sweepSoon();
      return;
    }
    if (open.terminal) {
      if (!this.terminals || !open.websocket) {
        refuse('this relay has no terminal sessions');
        return;
      }
      const t = new TerminalStream(id, this.send, log.child({ terminal: open.terminal.session }));
      this.streams.set(id, t);
      t.start(this.terminals, route, open.terminal);
      this.sweepSoon();
      return;
    }
    const up = open.websocket ? new WsUpstream(id, this.send, log) : new HttpUpstream(id, this.send, log);
    this.streams.set(id, up);
    if (up instanceof WsUpstream) up.start(open, route.target_ip);
    else up.start(open, route.target_ip, this.agent);
    this.sweepSoon();
  }

  private sweep(id: number): void {
    if (this.streams.get(id)?.closed) this.streams.delete(id);
  }

  private sweepTimer: ReturnType<typeof setTimeout> | null = null;
  /** Finished streams leave the map on their next frame or on this periodic sweep (no per-stream callbacks needed). */
  private sweepSoon(): void {
    if (this.sweepTimer) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = null;
      for (const [id, s] of this.streams) if (s.closed) this.streams.delete(id);
      if (this.streams.size) this.sweepSoon();
    }, 1000);
    this.sweepTimer.unref();
  }

  /** The data connection dropped: every target connection is closed, nothing lingers. */
  closeAll(): void {
    for (const s of this.streams.values()) s.abort('the data connection to the edge closed');
    this.streams.clear();
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
  }
}
