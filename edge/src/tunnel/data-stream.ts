// One HTTP stream inside a data shard: waiting for the head, the response body with credit back, the request body under credit.
import {
  CREDIT_GRANT_BATCH,
  FRAME,
  INITIAL_CREDIT,
  MAX_FRAME_PAYLOAD,
  RESET,
  closePayload,
  creditPayload,
  encodeFrame,
  type ResponseHead,
} from '@remotegpu/schema';

export type HeadOutcome =
  | { kind: 'head'; head: ResponseHead; body?: Uint8Array }
  | { kind: 'reset'; code: number; reason: string }
  | { kind: 'timeout' }
  | { kind: 'offline'; reason: string };

export class HttpStream {
  /** Bytes the agent still lets us send (request body). */
  private sendCredit = INITIAL_CREDIT;
  private creditWake: (() => void) | null = null;
  private headWaiter: ((o: HeadOutcome) => void) | null = null;
  private writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  private consumed = 0;
  done = false;

  constructor(
    readonly id: number,
    private readonly send: (frame: Uint8Array) => boolean,
    private readonly onDone: (s: HttpStream) => void,
  ) {}

  /** `timeoutMs` 0: wait as long as the app takes (the client or the relay going away still ends the wait). */
  waitHead(timeoutMs: number): Promise<HeadOutcome> {
    return new Promise((resolve) => {
      const timer = timeoutMs > 0 ? setTimeout(() => this.settleHead({ kind: 'timeout' }), timeoutMs) : null;
      this.headWaiter = (o) => {
        if (timer) clearTimeout(timer);
        resolve(o);
      };
    });
  }

  settleHead(o: HeadOutcome): boolean {
    const w = this.headWaiter;
    if (!w) return false;
    this.headWaiter = null;
    w(o);
    return true;
  }

  /** The response body: frames are written as they come; each write settles once the client read it, which returns credit. */
  body(contentLength: number | null): ReadableStream<Uint8Array> {
    const t = contentLength !== null ? new FixedLengthStream(contentLength) : new IdentityTransformStream();
    this.writer = t.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
    this.writer.closed.catch(() => this.cancel('the client went away'));
    return t.readable;
  }

  data(chunk: Uint8Array): void {
    const w = this.writer;
    if (!w || this.done) return;
    // The frame's bytes are a view into the WebSocket message: the stream keeps the chunk, so no copy is needed.
    w.write(chunk).then(
      () => {
        this.consumed += chunk.byteLength;
        if (this.consumed >= CREDIT_GRANT_BATCH && !this.done) {
          this.send(encodeFrame(FRAME.credit, this.id, creditPayload(this.consumed)));
          this.consumed = 0;
        }
      },
      () => this.cancel('the client went away'),
    );
  }

  end(): void {
    if (this.done) return;
    this.finish();
    this.writer?.close().catch(() => {});
  }

  /** The agent aborted the stream or went away: the client's body errors (a clean abort, never a silent truncation). */
  fail(reason: string): void {
    if (this.done) return;
    this.finish();
    this.writer?.abort(new Error(reason)).catch(() => {});
  }

  /** We give up on the stream (client gone, deadline): the agent is told to drop its side. */
  cancel(reason: string, code: number = RESET.cancelled): void {
    if (this.done) return;
    this.finish();
    this.send(encodeFrame(FRAME.reset, this.id, closePayload(code, reason)));
    this.writer?.abort(new Error(reason)).catch(() => {});
  }

  credit(bytes: number): void {
    this.sendCredit += bytes;
    const wake = this.creditWake;
    this.creditWake = null;
    wake?.();
  }

  /** Pumps the request body as DATA frames, never past the agent's credit, then END. */
  async upload(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (this.done) {
          await reader.cancel().catch(() => {});
          return;
        }
        if (done) break;
        for (let off = 0; off < value.byteLength; off += MAX_FRAME_PAYLOAD) {
          const piece = value.subarray(off, Math.min(value.byteLength, off + MAX_FRAME_PAYLOAD));
          while (this.sendCredit < piece.byteLength && !this.done)
            await new Promise<void>((r) => {
              this.creditWake = r;
            });
          if (this.done) {
            await reader.cancel().catch(() => {});
            return;
          }
          this.sendCredit -= piece.byteLength;
          this.send(encodeFrame(FRAME.data, this.id, piece));
        }
      }
      if (!this.done) this.send(encodeFrame(FRAME.end, this.id));
    } catch (err) {
      this.cancel(`the request body failed: ${String(err)}`, RESET.error);
    }
  }

  private finish(): void {
    this.done = true;
    this.credit(0);
    this.onDone(this);
  }
}
