// Splitting and joining WebSocket messages across tunnel frames: intact bytes, UTF-8 split anywhere, a hard size limit.
import { describe, expect, it } from 'vitest';
import { FLAG_TEXT, FRAME, decodeFrame } from './frames.ts';
import { WsJoiner, wsMessageFrames } from './ws-parts.ts';

function join(frames: Uint8Array[], joiner = new WsJoiner()) {
  const out = [];
  for (const f of frames) {
    const d = decodeFrame(f);
    if (!d.ok) throw new Error(d.error);
    out.push(joiner.push(d.frame.payload, (d.frame.flags & FLAG_TEXT) !== 0, d.frame.kind === FRAME.wsMessage));
  }
  return out;
}

describe('ws parts', () => {
  it('a small message stays one WS_MESSAGE frame', () => {
    const frames = wsMessageFrames(3, new Uint8Array([1, 2, 3]), false);
    expect(frames).toHaveLength(1);
    expect(decodeFrame(frames[0]!)).toMatchObject({ ok: true, frame: { kind: FRAME.wsMessage, stream: 3, flags: 0 } });
  });

  it('a text message split inside multi-byte characters comes back the same', () => {
    const text = '€ü'.repeat(1000);
    const frames = wsMessageFrames(5, new TextEncoder().encode(text), true, 7);
    expect(frames.length).toBeGreaterThan(100);
    expect(frames.slice(0, -1).every((f) => f[0] === FRAME.wsPart)).toBe(true);
    const results = join(frames);
    expect(results.slice(0, -1).every((r) => r.kind === 'partial')).toBe(true);
    const last = results.at(-1)!;
    expect(last.kind === 'message' && last.text && new TextDecoder().decode(last.data)).toBe(text);
  });

  it('messages follow one another on the same joiner', () => {
    const j = new WsJoiner();
    const a = join(wsMessageFrames(1, new Uint8Array(10).fill(1), false, 4), j).at(-1)!;
    const b = join(wsMessageFrames(1, new Uint8Array(5).fill(2), false, 4), j).at(-1)!;
    expect(a.kind === 'message' && [...a.data]).toEqual(new Array(10).fill(1));
    expect(b.kind === 'message' && [...b.data]).toEqual(new Array(5).fill(2));
  });

  it('a message over the limit is refused, and the next one still joins', () => {
    const j = new WsJoiner(8);
    expect(join(wsMessageFrames(1, new Uint8Array(12), false, 4), j)).toContainEqual({ kind: 'too_large', bytes: 12 });
    expect(join(wsMessageFrames(1, new Uint8Array(20), false, 4), j).filter((r) => r.kind !== 'partial')).toEqual([
      { kind: 'too_large', bytes: 12 },
    ]);
    expect(join(wsMessageFrames(1, new Uint8Array(6), false, 4), j).at(-1)).toMatchObject({ kind: 'message' });
  });
});
