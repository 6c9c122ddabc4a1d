import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../log.ts';
import { Backoff } from './backoff.ts';
import { systemClock } from './clock.ts';
import { PermanentError, RetryableError } from './errors.ts';
import { supervise } from './supervisor.ts';
import type { RunContext } from './supervisor.ts';

describe('backoff', () => {
  it('grows exponentially up to the cap, with full jitter in [0, ceiling)', () => {
    const top = new Backoff({ baseMs: 1000, capMs: 60_000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(() => top.next())).toEqual([999, 1999, 3999, 7999, 15999, 31999, 59999, 59999]);
    const bottom = new Backoff({ baseMs: 1000, capMs: 60_000, random: () => 0 });
    expect([1, 2, 3].map(() => bottom.next())).toEqual([0, 0, 0]);
  });

  it('stays within bounds with a real random source', () => {
    const b = new Backoff({ baseMs: 500, capMs: 8000 });
    for (let i = 0; i < 200; i++) {
      const ceiling = Math.min(8000, 500 * 2 ** Math.min(i, 30));
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(ceiling);
    }
  });

  it('reset starts over', () => {
    const b = new Backoff({ baseMs: 100, capMs: 10_000, random: () => 0.5 });
    b.next();
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(50);
  });
});

describe('supervise (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A run() that fails at once, or stays up `upMs` then fails, as scripted. */
  function script(steps: { upMs: number; err?: Error }[]) {
    const starts: number[] = [];
    const run = async (ctx: RunContext) => {
      starts.push(Date.now());
      const step = steps.shift() ?? { upMs: 1e9 };
      if (step.upMs > 0) {
        ctx.connected();
        await new Promise((r) => setTimeout(r, step.upMs));
      }
      throw step.err ?? new RetryableError('dropped');
    };
    return { run, starts };
  }

  it('reconnects after the computed delays', async () => {
    const { run, starts } = script([{ upMs: 0 }, { upMs: 0 }, { upMs: 0 }]);
    const abort = new AbortController();
    const done = supervise({
      run,
      backoff: new Backoff({ baseMs: 1000, capMs: 60_000, random: () => 0.5 }),
      stableMs: 60_000,
      clock: systemClock,
      log: silentLogger,
      signal: abort.signal,
    });
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(0);
    expect(starts.length).toBe(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(starts.length).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts.length).toBe(2); // after 500 ms (0.5 × 1000)
    await vi.advanceTimersByTimeAsync(1000);
    expect(starts.length).toBe(3); // after 1000 ms (0.5 × 2000)
    await vi.advanceTimersByTimeAsync(2000);
    expect(starts.map((s) => s - t0)).toEqual([0, 500, 1500, 3500]);
    abort.abort();
    await vi.advanceTimersByTimeAsync(1e12);
    await done;
  });

  it('resets the backoff after a connection stayed up for the stable period', async () => {
    const { run, starts } = script([{ upMs: 0 }, { upMs: 0 }, { upMs: 0 }, { upMs: 61_000 }, { upMs: 0 }]);
    const abort = new AbortController();
    const done = supervise({
      run,
      backoff: new Backoff({ baseMs: 1000, capMs: 60_000, random: () => 0.5 }),
      stableMs: 60_000,
      clock: systemClock,
      log: silentLogger,
      signal: abort.signal,
    });
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(70_000);
    const gaps = starts.map((s) => s - t0);
    // 500, 1000, 2000 grow; the stable connection (61 s) resets it: the next wait is 500 again.
    expect(gaps.slice(0, 4)).toEqual([0, 500, 1500, 3500]);
    expect(gaps[4]).toBe(3500 + 61_000 + 500);
    abort.abort();
    await vi.advanceTimersByTimeAsync(1e12);
    await done;
  });

  it('a short connection does not reset it', async () => {
    const { run, starts } = script([{ upMs: 0 }, { upMs: 5000 }, { upMs: 0 }]);
    const abort = new AbortController();
    const done = supervise({
      run,
      backoff: new Backoff({ baseMs: 1000, capMs: 60_000, random: () => 0.5 }),
      stableMs: 60_000,
      clock: systemClock,
      log: silentLogger,
      signal: abort.signal,
    });
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(starts.map((s) => s - t0)).toEqual([0, 500, 500 + 5000 + 1000, 500 + 5000 + 1000 + 2000]);
    abort.abort();
    await vi.advanceTimersByTimeAsync(1e12);
    await done;
  });

  it('a delay hint overrides the backoff; a permanent error ends the loop', async () => {
    const { run, starts } = script([
      { upMs: 0, err: new RetryableError('mismatch', 300_000) },
      { upMs: 0, err: new PermanentError('bad token') },
    ]);
    const done = supervise({
      run,
      backoff: new Backoff({ baseMs: 1000, capMs: 60_000, random: () => 0.5 }),
      stableMs: 60_000,
      clock: systemClock,
      log: silentLogger,
      signal: new AbortController().signal,
    });
    const caught = done.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(299_999);
    expect(starts.length).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts.length).toBe(2);
    expect(await caught).toBeInstanceOf(PermanentError);
  });
});
