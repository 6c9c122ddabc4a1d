// Data connections (app traffic): how an agent dials a shard, where the edge keeps K, and the one-frame small response.
import { FRAME, MAX_FRAME_PAYLOAD, encodeFrame } from './frames.ts';

/** Query of the data-connection upgrade: `/agent/connect?role=data&shard=<i>&shards=<K>`. */
export const DATA_ROLE = 'data';
export const MAX_DATA_SHARDS = 63;

/** The Durable Object name of one data shard of a relay. */
export function dataShardName(hostId: string, shard: number): string {
  return `${hostId}:data:${shard}`;
}

/** Stable shard of an environment among K (FNV-1a of its id), so one environment's traffic stays on one shard. */
export function shardOf(environmentId: string, shards: number): number {
  if (shards <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < environmentId.length; i++) {
    h ^= environmentId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

/**
 * HEAD flag: the payload is `[u32 BE head length][head JSON][whole body]` and the stream is over (no
 * DATA/END follow). Small responses then cost one WebSocket message instead of three.
 */
export const HEAD_FLAG_COMPLETE = 2;

/** Largest body that fits a complete HEAD next to a head of `headBytes`. */
export function completeBodyLimit(headBytes: number): number {
  return MAX_FRAME_PAYLOAD - 4 - headBytes;
}

export function encodeCompleteHead(stream: number, head: Uint8Array, body: Uint8Array): Uint8Array {
  const payload = new Uint8Array(4 + head.byteLength + body.byteLength);
  new DataView(payload.buffer).setUint32(0, head.byteLength);
  payload.set(head, 4);
  payload.set(body, 4 + head.byteLength);
  return encodeFrame(FRAME.head, stream, payload, HEAD_FLAG_COMPLETE);
}

/** Splits a complete HEAD's payload; null when the lengths do not add up. */
export function splitCompleteHead(payload: Uint8Array): { head: Uint8Array; body: Uint8Array } | null {
  if (payload.byteLength < 4) return null;
  const n = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
  if (4 + n > payload.byteLength) return null;
  return { head: payload.subarray(4, 4 + n), body: payload.subarray(4 + n) };
}
