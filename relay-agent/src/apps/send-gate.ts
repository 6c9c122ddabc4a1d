// The data connection's shared budget for bulk bytes. Every stream's DATA goes down one WebSocket per shard; without a
// budget each download could queue its whole credit (4 MiB) in the socket's userland buffer, and a small response for
// another stream (a Jupyter API call, an SSE event) would wait behind all of them: 100 downloads, 400 MiB of
// head-of-line blocking. With it, bulk frames leave only while fewer than `lowWater` bytes are still unwritten, and
// streams waiting for room are served in turn (one frame each), so a small frame waits behind at most about
// `lowWater` plus one frame. Our own code: HTTP/2-style stream fairness on our own tunnel framing is the relay's job.
import type { SendFrame } from './frame-out.ts';

/** Unwritten bulk bytes above which bulk frames wait for their turn: 1 MiB, one full DATA frame. */
export const BULK_LOW_WATER = 1024 * 1024;

/** Writes one frame to the connection and calls `written` once it left the process (ws's send callback). */
export type RawSend = (frame: Uint8Array, written: () => void) => boolean;

export class SendGate {
  /** Bytes handed to the socket and not yet written out. */
  private unwritten = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly raw: RawSend,
    private readonly lowWater = BULK_LOW_WATER,
  ) {}

  /** The connection's frame sender, carrying this gate for the streams that share it. */
  sender(): SendFrame {
    const send: SendFrame = (frame) => {
      const n = frame.byteLength;
      const sent = this.raw(frame, () => {
        this.unwritten -= n;
        this.wake();
      });
      if (sent) this.unwritten += n;
      return sent;
    };
    send.gate = this;
    return send;
  }

  /** True while a bulk frame may go now. */
  get open(): boolean {
    return this.unwritten < this.lowWater;
  }

  /** Unwritten bytes (for tests and logs). */
  get queued(): number {
    return this.unwritten;
  }

  /** Calls `turn` once there is room and every stream that asked before had its turn. */
  wait(turn: () => void): void {
    this.waiting.push(turn);
  }

  private wake(): void {
    while (this.open && this.waiting.length > 0) this.waiting.shift()!();
  }
}
