// Worker → data shard: an app request's OpenHead and deadline travel as headers of the request the Worker forwards to the shard.
import type { OpenHead } from '@remotegpu/schema';

/** Worker → shard: the OpenHead's JSON (passed on to the agent as is: the shard never re-parses it) and a few facts the shard needs. */
const OPEN_HEADER = 'x-remotegpu-open';
const OPEN_ENC = 'x-remotegpu-open-enc';
const OPEN_FLAGS = 'x-remotegpu-open-flags';
const FIRST_BYTE = 'x-remotegpu-first-byte-ms';

export interface OpenMeta {
  json: string;
  hasBody: boolean;
  websocket: boolean;
  headOnly: boolean;
  /** 0: no deadline for the first response byte. */
  firstByteMs: number;
}

/** `firstByteMs` 0 means no deadline: a slow inference endpoint or a long export answers whenever it is ready. */
export function openRequestHeaders(open: OpenHead, firstByteMs: number): Headers {
  const json = JSON.stringify(open);
  // Header values carry bytes, not text: anything outside printable ASCII travels URI-encoded.
  const plain = /^[\x20-\x7e]*$/.test(json);
  const h = new Headers({
    [OPEN_HEADER]: plain ? json : encodeURIComponent(json),
    [OPEN_FLAGS]: `${open.has_body ? 'b' : ''}${open.websocket ? 'w' : ''}${open.method === 'HEAD' ? 'h' : ''}`,
    [FIRST_BYTE]: String(firstByteMs),
  });
  if (!plain) h.set(OPEN_ENC, 'uri');
  if (open.websocket) h.set('upgrade', 'websocket');
  return h;
}

export function openMeta(headers: Headers): OpenMeta | null {
  const raw = headers.get(OPEN_HEADER);
  const flags = headers.get(OPEN_FLAGS) ?? '';
  const firstByteMs = Number(headers.get(FIRST_BYTE) ?? 0);
  if (!raw || !Number.isInteger(firstByteMs) || firstByteMs < 0) return null;
  let json = raw;
  if (headers.get(OPEN_ENC) === 'uri') {
    try {
      json = decodeURIComponent(raw);
    } catch {
      return null;
    }
  }
  return {
    json,
    hasBody: flags.includes('b'),
    websocket: flags.includes('w'),
    headOnly: flags.includes('h'),
    firstByteMs,
  };
}
