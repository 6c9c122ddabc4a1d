// StreamOut: one complete frame for small responses, prompt frames for SSE, credit respected, resets final.
import { describe, expect, it } from 'vitest';
import {
  FRAME,
  HEAD_FLAG_COMPLETE,
  INITIAL_CREDIT,
  decodeFrame,
  readClose,
  splitCompleteHead,
  type Frame,
} from '@remotegpu/schema';
import { StreamOut } from './frame-out.ts';

function collect() {
  const frames: Frame[] = [];
  let stalls = 0;
  let flows = 0;
  const out = new StreamOut(
    7,
    (b) => {
      const d = decodeFrame(b);
      if (!d.ok) throw new Error(d.error);
      frames.push({ ...d.frame, payload: d.frame.payload.slice() });
      return true;
    },
    () => stalls++,
    () => flows++,
  );
  return { out, frames, stalls: () => stalls, flows: () => flows };
}
const tick = () => new Promise((r) => setImmediate(r));
const head = { status: 200, headers: [['content-type', 'text/plain']] as [string, string][], websocket: false };

describe('StreamOut', () => {
  it('sends a small response as one complete HEAD frame', async () => {
    const { out, frames } = collect();
    out.head(head);
    out.data(Buffer.from('hello '));
    out.data(Buffer.from('world'));
    out.end();
    await tick();
    expect(frames).toHaveLength(1);
    expect(frames[0]!.kind).toBe(FRAME.head);
    expect(frames[0]!.flags & HEAD_FLAG_COMPLETE).toBeTruthy();
    const parts = splitCompleteHead(frames[0]!.payload)!;
    expect(JSON.parse(Buffer.from(parts.head).toString())).toEqual(head);
    expect(Buffer.from(parts.body).toString()).toBe('hello world');
  });

  it('sends the head on its own when the body is slow (SSE), and each event promptly', async () => {
    const { out, frames } = collect();
    out.head(head);
    out.data(Buffer.from('data: 1\n\n'));
    await tick();
    expect(frames.map((f) => f.kind)).toEqual([FRAME.head, FRAME.data]);
    out.data(Buffer.from('data: 2\n\n'));
    await new Promise((r) => setTimeout(r, 5));
    expect(frames.map((f) => f.kind)).toEqual([FRAME.head, FRAME.data, FRAME.data]);
    out.end();
    expect(frames.at(-1)!.kind).toBe(FRAME.end);
  });

  it('never sends past the credit: stalls the source, resumes on a grant', async () => {
    const { out, frames, stalls } = collect();
    out.head(head);
    await tick();
    const chunk = Buffer.alloc(1024 * 1024, 1);
    for (let i = 0; i < 6; i++) out.data(chunk);
    const sent = () => frames.filter((f) => f.kind === FRAME.data).reduce((n, f) => n + f.payload.byteLength, 0);
    expect(sent()).toBe(INITIAL_CREDIT);
    expect(stalls()).toBeGreaterThan(0);
    out.end();
    expect(frames.at(-1)!.kind).toBe(FRAME.data); // no END while bytes wait
    out.grant(2 * 1024 * 1024);
    expect(sent()).toBe(6 * 1024 * 1024);
    expect(frames.at(-1)!.kind).toBe(FRAME.end);
  });

  it('a reset says why and stops everything after it', () => {
    const { out, frames } = collect();
    out.reset(2, 'connect ECONNREFUSED');
    out.data(Buffer.from('late'));
    out.end();
    expect(frames).toHaveLength(1);
    expect(readClose(frames[0]!.payload)).toEqual({ code: 2, reason: 'connect ECONNREFUSED' });
  });
});
