// Outgoing frames for one stream: head (or head + whole body in one frame), coalesced DATA under the edge's credit, END, RESET.
import type { SendGate } from './send-gate.ts';
import {
  FRAME,
  HEADER_BYTES,
  INITIAL_CREDIT,
  MAX_FRAME_PAYLOAD,
  closePayload,
  completeBodyLimit,
  encodeCompleteHead,
  encodeFrame,
  encodeJsonPayload,
  type ResponseHead,
} from '@remotegpu/schema';

/**
 * Sends one frame on the data connection; false when it is closed. `gate`, when the connection has one
 * (relay-agent/src/apps/send-gate.ts), is the bulk budget its streams share.
 */
export interface SendFrame {
  (frame: Uint8Array): boolean;
  gate?: SendGate;
}

/** Pending bodies smaller than this skip the gate's queue: a small response or an SSE event is never stuck behind bulk. */
const SMALL_BYTES = 64 * 1024;

/** A frame is sent once this much is pending, or after COALESCE_MS: 1 MiB frames for bulk, prompt ones for SSE. */
const FRAME_TARGET = MAX_FRAME_PAYLOAD;
const COALESCE_MS = 1;

/** Builds one frame straight from the chunks (one copy, not concat + copy). */
function frameOf(kind: number, stream: number, chunks: Buffer[], bytes: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + bytes);
  out[0] = kind;
  out[1] = 0;
  out.writeUInt32BE(stream, 2);
  let off = HEADER_BYTES;
  for (const c of chunks) {
    c.copy(out, off);
    off += c.byteLength;
  }
  return out;
}

export class StreamOut {
  private credit = INITIAL_CREDIT;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private headFrame: Uint8Array | null = null;
  private ended = false;
  /** Waiting for its turn on the connection's gate. */
  private queued = false;
  closed = false;

  /** `onStall` / `onFlow` pause and resume the source when credit runs out and comes back. */
  constructor(
    readonly id: number,
    private readonly send: SendFrame,
    private readonly onStall: () => void,
    private readonly onFlow: () => void,
  ) {}

  /** The head waits a moment for the body: a small response then leaves as one complete frame. */
  head(head: ResponseHead): void {
    this.headFrame = encodeJsonPayload(head);
    setImmediate(() => this.sendHead());
  }

  private sendHead(): void {
    if (!this.headFrame || this.closed) return;
    const h = this.headFrame;
    this.headFrame = null;
    this.send(encodeFrame(FRAME.head, this.id, h));
    // Body bytes that came with the head (an SSE event) go now, not with the next event.
    if (this.pendingBytes > 0) this.flush();
  }

  data(chunk: Buffer): void {
    if (this.closed) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    if (this.headFrame && this.pendingBytes > completeBodyLimit(this.headFrame.byteLength)) this.sendHead();
    if (this.headFrame) return;
    if (this.pendingBytes >= FRAME_TARGET) this.flush();
    else if (!this.timer)
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, COALESCE_MS);
  }

  end(): void {
    if (this.closed) return;
    this.ended = true;
    if (this.headFrame) {
      const h = this.headFrame;
      this.headFrame = null;
      this.send(encodeCompleteHead(this.id, h, Buffer.concat(this.pending, this.pendingBytes)));
      this.pending = [];
      this.pendingBytes = 0;
      this.closed = true;
      return;
    }
    this.flush();
  }

  grant(bytes: number): void {
    this.credit += bytes;
    this.flush();
  }

  reset(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    this.send(encodeFrame(FRAME.reset, this.id, closePayload(code, reason)));
  }

  /** Sends what credit allows, in frames of at most 1 MiB; END once everything went out. */
  private flush(): void {
    this.clearTimer();
    if (this.closed || this.headFrame) return;
    while (this.pendingBytes > 0 && this.credit > 0) {
      const gate = this.send.gate;
      if (gate && !gate.open && this.pendingBytes >= SMALL_BYTES) {
        if (!this.queued) {
          this.queued = true;
          gate.wait(() => {
            this.queued = false;
            this.flush();
          });
        }
        this.onStall();
        return;
      }
      const budget = Math.min(this.credit, MAX_FRAME_PAYLOAD, this.pendingBytes);
      const chunks: Buffer[] = [];
      let n = 0;
      while (n < budget) {
        const c = this.pending[0]!;
        const take = Math.min(c.byteLength, budget - n);
        if (take === c.byteLength) this.pending.shift();
        else this.pending[0] = c.subarray(take);
        chunks.push(take === c.byteLength ? c : c.subarray(0, take));
        n += take;
      }
      this.pendingBytes -= n;
      this.credit -= n;
      this.send(frameOf(FRAME.data, this.id, chunks, n));
    }
    if (this.pendingBytes > 0) this.onStall();
    else if (this.ended) {
      this.closed = true;
      this.send(encodeFrame(FRAME.end, this.id));
    } else this.onFlow();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
