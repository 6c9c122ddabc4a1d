// Binary stream frames of the tunnel: [kind u8][flags u8][stream id u32 BE][payload]. Decoding never throws.
import { z } from 'zod';
import { FileOpen } from './file-open.ts';
import { ENV_ID_PATTERN } from '../ids.ts';
import { TerminalOpen } from './terminal.ts';

export const FRAME = {
  /** edge → agent: open a stream; payload = JSON OpenHead. */
  open: 1,
  /** agent → edge: response head; payload = JSON ResponseHead. */
  head: 2,
  /** either way: body bytes. */
  data: 3,
  /** either way: no more data from this side (half close). */
  end: 4,
  /** either way: abort the stream; payload = u16 code + UTF-8 reason. */
  reset: 5,
  /** either way: the sender may send this many more DATA bytes; payload = u32 BE. */
  credit: 6,
  /** either way: one WebSocket message; flags bit 0 = text. */
  wsMessage: 7,
  /** either way: WebSocket close; payload = u16 code + UTF-8 reason. */
  wsClose: 8,
  /**
   * either way: a leading part of a WebSocket message too big for one frame; flags bit 0 = text. The parts that follow
   * come in order on the same stream and the last one is a WS_MESSAGE; the receiver joins them (bytes, then text).
   */
  wsPart: 9,
} as const;
export type FrameKind = (typeof FRAME)[keyof typeof FRAME];

export const FLAG_TEXT = 1;
export const HEADER_BYTES = 6;
export const MAX_FRAME_PAYLOAD = 1024 * 1024;
/**
 * Largest WebSocket message the tunnel carries (either way), split into MAX_FRAME_PAYLOAD parts. Browser → app messages
 * are also capped by workerd/Cloudflare at 32 MiB before they reach us (1009 "Message is too large").
 */
export const MAX_WS_MESSAGE = 64 * 1024 * 1024;
/** Credit a receiver grants when a stream opens (bytes in flight per stream). */
export const INITIAL_CREDIT = 4 * 1024 * 1024;
/** A receiver grants credit back per this many bytes consumed (one CREDIT frame per batch, not one per frame), either way. */
export const CREDIT_GRANT_BATCH = 256 * 1024;

export const RESET = { error: 1, refused: 2, timeout: 3, cancelled: 4, offline: 5, tooLarge: 6 } as const;

export interface Frame {
  kind: FrameKind;
  flags: number;
  stream: number;
  payload: Uint8Array;
}

const KINDS = new Set<number>(Object.values(FRAME));

export function encodeFrame(
  kind: FrameKind,
  stream: number,
  payload: Uint8Array = new Uint8Array(0),
  flags = 0,
): Uint8Array {
  if (!Number.isInteger(stream) || stream < 0 || stream > 0xffffffff) throw new RangeError('stream id out of range');
  if (payload.byteLength > MAX_FRAME_PAYLOAD) throw new RangeError('frame payload too large');
  const out = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const view = new DataView(out.buffer);
  out[0] = kind;
  out[1] = flags & 0xff;
  view.setUint32(2, stream);
  out.set(payload, HEADER_BYTES);
  return out;
}

export type FrameResult = { ok: true; frame: Frame } | { ok: false; error: string };

/** Decodes one binary frame; garbage (short, unknown kind, bad payload size) returns an error value. */
export function decodeFrame(input: ArrayBuffer | ArrayBufferView): FrameResult {
  let bytes: Uint8Array;
  if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
  else if (ArrayBuffer.isView(input)) bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  else return { ok: false, error: 'not_binary' };
  if (bytes.byteLength < HEADER_BYTES) return { ok: false, error: 'short_frame' };
  if (bytes.byteLength > HEADER_BYTES + MAX_FRAME_PAYLOAD) return { ok: false, error: 'frame_too_large' };
  const kind = bytes[0]!;
  if (!KINDS.has(kind)) return { ok: false, error: 'unknown_kind' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stream = view.getUint32(2);
  const payload = bytes.subarray(HEADER_BYTES);
  if (kind === FRAME.credit && payload.byteLength !== 4) return { ok: false, error: 'bad_credit' };
  if ((kind === FRAME.reset || kind === FRAME.wsClose) && payload.byteLength < 2)
    return { ok: false, error: 'bad_close' };
  if (kind === FRAME.end && payload.byteLength !== 0) return { ok: false, error: 'bad_end' };
  return { ok: true, frame: { kind: kind as FrameKind, flags: bytes[1]!, stream, payload } };
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });

export function creditPayload(bytes: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, Math.max(0, Math.min(bytes, 0xffffffff)));
  return p;
}
export function readCredit(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
}

export function closePayload(code: number, reason = ''): Uint8Array {
  const r = enc.encode(reason).subarray(0, 123);
  const p = new Uint8Array(2 + r.byteLength);
  new DataView(p.buffer).setUint16(0, code & 0xffff);
  p.set(r, 2);
  return p;
}
export function readClose(payload: Uint8Array): { code: number; reason: string } {
  const code = new DataView(payload.buffer, payload.byteOffset, 2).getUint16(0);
  return { code, reason: dec.decode(payload.subarray(2)) };
}

const header = z.tuple([z.string().max(8192), z.string().max(65536)]);

/** The request an edge stream opens: the agent resolves the target from its own route table. */
export const OpenHead = z.object({
  environment_id: z.string().regex(ENV_ID_PATTERN),
  port: z.number().int().min(1).max(65535),
  method: z
    .string()
    .min(1)
    .max(32)
    .regex(/^[A-Z!#$%&'*+.^_`|~0-9-]+$/i),
  path: z.string().min(1).max(16384),
  headers: z.array(header).max(512),
  websocket: z.boolean().default(false),
  has_body: z.boolean().default(true),
  /** Set: a file stream over SFTP on the target (`port` is then nominal). Absent: an app request. */
  file: FileOpen.optional(),
  /** Set for the browser terminal: the agent attaches the stream to a shell (see terminal.ts), it dials no port. */
  terminal: TerminalOpen.optional(),
});
export type OpenHead = z.infer<typeof OpenHead>;

export const ResponseHead = z.object({
  status: z.number().int().min(100).max(999),
  headers: z.array(header).max(512),
  /** True when the target accepted a WebSocket upgrade: WS_MESSAGE frames follow. */
  websocket: z.boolean().default(false),
});
export type ResponseHead = z.infer<typeof ResponseHead>;

export function encodeJsonPayload(value: OpenHead | ResponseHead): Uint8Array {
  return enc.encode(JSON.stringify(value));
}

export function decodeHead<T extends z.ZodType>(
  schema: T,
  payload: Uint8Array,
): { ok: true; value: z.infer<T> } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(dec.decode(payload));
  } catch {
    return { ok: false, error: 'bad_json' };
  }
  const r = schema.safeParse(raw);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: 'invalid_head' };
}
