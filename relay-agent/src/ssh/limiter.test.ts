// FailureLimiter: locks after N failures within the window, unlocks when the lock expires.
import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './limiter.ts';

describe('FailureLimiter', () => {
  it('locks a key after maxFailures and releases it after lockMs', () => {
    let now = 1_000;
    const l = new FailureLimiter(3, 10_000, { now: () => now });
    expect(l.fail('ip:a')).toBe(false);
    expect(l.fail('ip:a')).toBe(false);
    expect(l.isLocked('ip:a')).toBe(false);
    expect(l.fail('ip:a')).toBe(true);
    expect(l.isLocked('ip:a')).toBe(true);
    expect(l.isLocked('ip:b')).toBe(false);
    now += 10_001;
    expect(l.isLocked('ip:a')).toBe(false);
  });

  it('forgets failures older than the window and after a success', () => {
    let now = 0;
    const l = new FailureLimiter(2, 1_000, { now: () => now });
    l.fail('k');
    now += 1_500;
    expect(l.fail('k')).toBe(false);
    l.succeed('k');
    expect(l.fail('k')).toBe(false);
  });

  it('stays bounded under a spray of keys', () => {
    const l = new FailureLimiter(5, 1_000, { now: () => 0 }, 100);
    for (let i = 0; i < 1_000; i++) l.fail(`ip:${i}`);
    expect((l as unknown as { entries: Map<string, unknown> }).entries.size).toBeLessThanOrEqual(100);
  });
});
