// One browser terminal socket on a data connection: binary frames are the terminal's bytes, text frames its control messages.
import {
  FRAME,
  HEADER_BYTES,
  INITIAL_CREDIT,
  RESET,
  TERMINAL_CLOSE,
  TERMINAL_MSG,
  WsJoiner,
  closePayload,
  encodeFrame,
  encodeJsonPayload,
  parseTerminalClientMessage,
  wsMessageFrames,
  type Route,
  type TerminalOpen,
} from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';
import type { SendFrame } from '../apps/frame-out.ts';
import { TerminalRefused, type TerminalSession, type TerminalSessions, type TerminalViewer } from './sessions.ts';

/** Keystrokes and pastes: a paste larger than this is refused (the socket closes with 1009). */
const MAX_INPUT_MESSAGE = 4 * 1024 * 1024;
const enc = new TextEncoder();

export class TerminalStream implements TerminalViewer {
  private session: TerminalSession | null = null;
  private done = false;
  private readonly joiner = new WsJoiner(MAX_INPUT_MESSAGE);
  /** Output bytes the edge still accepts; beyond it frames wait here and the shell's output is paused. */
  private credit = INITIAL_CREDIT;
  private queue: Uint8Array[] = [];

  constructor(
    readonly id: number,
    private readonly send: SendFrame,
    private readonly log: Logger,
  ) {}

  get closed(): boolean {
    return this.done;
  }

  /** Attaches to (or starts) the shell; the browser's upgrade is answered only once there is one to talk to. */
  start(sessions: TerminalSessions, route: Route, open: TerminalOpen): void {
    sessions.attach(route, open, this).then(
      (s) => {
        if (this.done) {
          s.detach(this);
          return;
        }
        this.session = s;
        this.flush();
      },
      (err: unknown) => {
        const reason = err instanceof TerminalRefused ? err.message : 'the terminal could not be opened';
        if (!(err instanceof TerminalRefused)) this.log.error('terminal attach failed', { reason: String(err) });
        else this.log.warn('terminal refused', { reason });
        if (this.done) return;
        this.done = true;
        this.send(encodeFrame(FRAME.reset, this.id, closePayload(RESET.refused, reason)));
      },
    );
  }

  output(chunk: Buffer): void {
    if (this.done) return;
    if (!this.headSent) this.sendHead();
    for (const f of wsMessageFrames(this.id, chunk, false)) this.queue.push(f);
    this.flush();
  }

  private headSent = false;
  private sendHead(): void {
    this.headSent = true;
    this.send(encodeFrame(FRAME.head, this.id, encodeJsonPayload({ status: 101, headers: [], websocket: true })));
  }

  exited(code: number | null): void {
    if (this.done) return;
    if (!this.headSent) this.sendHead();
    this.flush();
    const msg = enc.encode(JSON.stringify({ type: TERMINAL_MSG.exit, code }));
    for (const f of wsMessageFrames(this.id, msg, true)) this.send(f);
    this.finish(1000, 'the shell exited');
  }

  replaced(): void {
    this.finish(TERMINAL_CLOSE.replaced, 'opened in another tab');
  }

  private finish(code: number, reason: string): void {
    if (this.done) return;
    this.done = true;
    this.queue = [];
    this.send(encodeFrame(FRAME.wsClose, this.id, closePayload(code, reason)));
  }

  /** Sends queued output while the edge's credit lasts; pauses the shell's output until credit comes back. */
  private flush(): void {
    if (!this.headSent && this.session) this.sendHead();
    if (!this.headSent) return;
    while (this.queue.length && this.credit > 0) {
      const f = this.queue.shift()!;
      this.credit -= f.byteLength - HEADER_BYTES;
      this.send(f);
    }
    if (this.queue.length) this.session?.pause();
    else this.session?.resume();
  }

  grant(bytes: number): void {
    this.credit += bytes;
    if (!this.done) this.flush();
  }

  /** A WS_PART (`last` false) or WS_MESSAGE from the browser: bytes are keystrokes, text a control message. */
  message(payload: Uint8Array, text: boolean, last: boolean): void {
    const s = this.session;
    if (this.done || !s) return;
    const j = this.joiner.push(payload, text, last);
    if (j.kind === 'too_large') {
      this.finish(1009, 'message too big');
      s.detach(this);
      return;
    }
    if (j.kind !== 'message') return;
    if (!j.text) {
      s.input(Buffer.from(j.data));
      return;
    }
    const m = parseTerminalClientMessage(Buffer.from(j.data).toString('utf8'));
    if (m?.type === TERMINAL_MSG.resize) s.resize(m.cols, m.rows);
  }

  /** The browser's socket closed (a reload, a laptop asleep): the shell stays for a reattach. */
  close(code: number, reason: string): void {
    this.log.debug('terminal socket closed', { code, reason });
    this.detach();
  }

  /** The edge reset the stream or the data connection dropped: the shell stays for a reattach as well. */
  abort(reason?: string): void {
    if (reason) this.log.info('terminal socket dropped', { reason });
    this.detach();
  }

  private detach(): void {
    this.done = true;
    this.queue = [];
    this.session?.detach(this);
  }
}
