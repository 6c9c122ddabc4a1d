// SendGate: bulk DATA of many streams takes turns under one budget; small frames never wait behind it.
import { describe, expect, it } from 'vitest';
import { FRAME, decodeFrame, type Frame } from '@remotegpu/schema';
import { StreamOut } from './frame-out.ts';
import { BULK_LOW_WATER, SendGate } from './send-gate.ts';

const MiB = 1024 * 1024;
const tick = () => new Promise((r) => setImmediate(r));
const head = {
  status: 200,
  headers: [['content-type', 'application/octet-stream']] as [string, string][],
  websocket: false,
};

/** A connection whose socket writes out only when the test says so. */
function slowSocket() {
  const frames: Frame[] = [];
  const unwritten: (() => void)[] = [];
  const gate = new SendGate((b, written) => {
    const d = decodeFrame(b);
    if (!d.ok) throw new Error(d.error);
    frames.push({ ...d.frame, payload: d.frame.payload.slice(0, 16) });
    unwritten.push(written);
    return true;
  });
  const send = gate.sender();
  /** The socket writes out the oldest `n` frames. */
  const drain = (n = 1) => {
    for (let i = 0; i < n; i++) unwritten.shift()?.();
  };
  return { gate, send, frames, drain, unwrittenFrames: () => unwritten.length };
}

function stream(send: ReturnType<typeof slowSocket>['send'], id: number) {
  const s = { stalls: 0, flows: 0 };
  const out = new StreamOut(
    id,
    send,
    () => s.stalls++,
    () => s.flows++,
  );
  return Object.assign(s, { out });
}

describe('SendGate', () => {
  it('lets bulk streams take turns, one frame each, never queueing more than the budget plus a frame', async () => {
    const c = slowSocket();
    const a = stream(c.send, 1);
    const b = stream(c.send, 2);
    for (const s of [a, b]) {
      s.out.head(head);
      await tick();
      s.out.data(Buffer.alloc(3 * MiB, s.out.id));
    }
    // A went first and filled the budget with one 1 MiB frame; B waits for its turn, and its source is paused.
    const data = () => c.frames.filter((f) => f.kind === FRAME.data).map((f) => f.stream);
    expect(data()).toEqual([1]);
    expect(b.stalls).toBeGreaterThan(0);
    expect(c.gate.queued).toBeLessThanOrEqual(BULK_LOW_WATER + MiB);
    // Each write that leaves makes room for the next stream in line.
    for (let i = 0; i < 8; i++) {
      c.drain(c.unwrittenFrames());
      expect(c.gate.queued).toBeLessThanOrEqual(BULK_LOW_WATER + MiB);
    }
    // A asked for its next turn before B asked for its first: then they alternate (the old sender: 1,1,1,2,2,2 at once).
    expect(data()).toEqual([1, 1, 2, 1, 2, 2]);
    expect(b.flows).toBeGreaterThan(0); // drained: the source resumes
  });

  it('sends a small response and an SSE event at once while bulk streams wait', async () => {
    const c = slowSocket();
    const bulk = stream(c.send, 1);
    bulk.out.head(head);
    await tick();
    bulk.out.data(Buffer.alloc(3 * MiB, 1));
    const bulk2 = stream(c.send, 2);
    bulk2.out.head(head);
    await tick();
    bulk2.out.data(Buffer.alloc(3 * MiB, 2));
    expect(c.gate.open).toBe(false);

    const small = stream(c.send, 3);
    small.out.head({ ...head, headers: [['content-type', 'application/json']] });
    small.out.data(Buffer.from('{"ok":true}'));
    small.out.end();
    const sse = stream(c.send, 4);
    sse.out.head({ ...head, headers: [['content-type', 'text/event-stream']] });
    sse.out.data(Buffer.from('data: 1\n\n'));
    await tick();
    await new Promise((r) => setTimeout(r, 5));
    // Nothing was written out meanwhile, yet both went: the complete head and the event.
    expect(c.frames.filter((f) => f.stream === 3).map((f) => f.kind)).toEqual([FRAME.head]);
    expect(c.frames.filter((f) => f.stream === 4).map((f) => f.kind)).toEqual([FRAME.head, FRAME.data]);
    expect(c.frames.filter((f) => f.stream === 2 && f.kind === FRAME.data)).toHaveLength(0);
  });

  it('ends a stream only after its last bulk frame had its turn', async () => {
    const c = slowSocket();
    const a = stream(c.send, 1);
    const b = stream(c.send, 2);
    for (const s of [a, b]) {
      s.out.head(head);
      await tick();
      s.out.data(Buffer.alloc(2 * MiB, s.out.id));
      s.out.end();
    }
    for (let i = 0; i < 6; i++) c.drain(c.unwrittenFrames());
    const of = (id: number) => c.frames.filter((f) => f.stream === id).map((f) => f.kind);
    expect(of(1)).toEqual([FRAME.head, FRAME.data, FRAME.data, FRAME.end]);
    expect(of(2)).toEqual([FRAME.head, FRAME.data, FRAME.data, FRAME.end]);
  });
});
