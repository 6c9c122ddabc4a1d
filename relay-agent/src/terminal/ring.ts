// The last bytes a terminal wrote, replayed to a browser that reattaches to its shell.
import { TERMINAL_REPLAY_BYTES } from '@remotegpu/schema';

export class OutputRing {
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly max = TERMINAL_REPLAY_BYTES) {}

  push(chunk: Buffer): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.byteLength;
    while (this.bytes > this.max) {
      const first = this.chunks[0]!;
      const over = this.bytes - this.max;
      if (first.byteLength <= over) {
        this.chunks.shift();
        this.bytes -= first.byteLength;
      } else {
        this.chunks[0] = first.subarray(over);
        this.bytes -= over;
      }
    }
  }

  /** The kept output, starting at a UTF-8 character boundary (a cut character would show as U+FFFD). */
  snapshot(): Buffer {
    const all = Buffer.concat(this.chunks, this.bytes);
    let start = 0;
    while (start < Math.min(3, all.byteLength) && (all[start]! & 0xc0) === 0x80) start++;
    return all.subarray(start);
  }
}
