// The check of a tunnel connection's first frame, shared by the HostTunnel and the data shards.
import { MSG, type decodeControl } from '@remotegpu/schema';

const WHAT: Record<string, string> = {
  not_text: 'a binary frame',
  too_large: 'an oversized frame',
  bad_json: 'invalid JSON',
  not_object: 'JSON that is not an object',
  no_type: 'an object without a type',
  unknown_type: 'an unknown type',
};

/** Why a connection's first frame is not an acceptable hello (a WebSocket close reason, under 123 bytes), or null. */
export function badHello(d: ReturnType<typeof decodeControl>): string | null {
  if (!d.ok) {
    if (d.type === MSG.hello) return 'malformed hello: a field is missing, mistyped or out of range';
    return `the first frame must be a hello, got ${WHAT[d.error] ?? d.error}`;
  }
  if (d.value.type !== MSG.hello) return `the first frame must be a hello, got ${d.value.type}`;
  return null;
}
