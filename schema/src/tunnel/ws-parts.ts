// WebSocket messages larger than one tunnel frame: split into WS_PART frames ending with a WS_MESSAGE, and joined again.
import { FLAG_TEXT, FRAME, MAX_FRAME_PAYLOAD, MAX_WS_MESSAGE, encodeFrame } from './frames.ts';

/** The frames that carry one WebSocket message: leading WS_PART frames, then the final WS_MESSAGE (one frame when it fits). */
export function wsMessageFrames(
  stream: number,
  payload: Uint8Array,
  text: boolean,
  partBytes = MAX_FRAME_PAYLOAD,
): Uint8Array[] {
  const flags = text ? FLAG_TEXT : 0;
  const frames: Uint8Array[] = [];
  let off = 0;
  for (; payload.byteLength - off > partBytes; off += partBytes)
    frames.push(encodeFrame(FRAME.wsPart, stream, payload.subarray(off, off + partBytes), flags));
  frames.push(encodeFrame(FRAME.wsMessage, stream, payload.subarray(off), flags));
  return frames;
}

export type Joined =
  | { kind: 'partial' }
  | { kind: 'message'; data: Uint8Array; text: boolean }
  | { kind: 'too_large'; bytes: number };

/** Joins the parts of one stream's messages. Parts are kept as the views they arrived in and copied once, at the end. */
export class WsJoiner {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  /** The rest of a refused message is dropped up to its final frame. */
  private skipping = false;

  constructor(private readonly max = MAX_WS_MESSAGE) {}

  /** Feeds a WS_PART (`last` false) or WS_MESSAGE (`last` true) payload. A message over the limit is dropped whole. */
  push(payload: Uint8Array, text: boolean, last: boolean): Joined {
    if (this.skipping) {
      this.skipping = !last;
      return { kind: 'partial' };
    }
    const bytes = this.bytes + payload.byteLength;
    if (bytes > this.max) {
      this.reset();
      this.skipping = !last;
      return { kind: 'too_large', bytes };
    }
    if (!last) {
      this.parts.push(payload);
      this.bytes = bytes;
      return { kind: 'partial' };
    }
    if (this.parts.length === 0) return { kind: 'message', data: payload, text };
    const data = new Uint8Array(bytes);
    let off = 0;
    for (const p of this.parts) {
      data.set(p, off);
      off += p.byteLength;
    }
    data.set(payload, off);
    this.reset();
    return { kind: 'message', data, text };
  }

  reset(): void {
    this.parts = [];
    this.bytes = 0;
  }
}
