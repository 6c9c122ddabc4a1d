// Brute-force limiter: N failures within the lock window lock a key (a source, or a source and environment) for that window.
export interface Clock {
  now(): number;
}

interface Entry {
  failures: number[];
  lockedUntil: number;
}

export class FailureLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxFailures: number,
    private readonly lockMs: number,
    private readonly clock: Clock = Date,
    /** Bounds memory under a spray of distinct keys; the oldest entries go first. */
    private readonly maxEntries = 100_000,
  ) {}

  isLocked(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    if (e.lockedUntil > this.clock.now()) return true;
    if (e.lockedUntil !== 0) this.entries.delete(key);
    return false;
  }

  /** Records one failure; returns true when this failure locks the key. */
  fail(key: string): boolean {
    const now = this.clock.now();
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= this.maxEntries) this.evict(now);
      e = { failures: [], lockedUntil: 0 };
      this.entries.set(key, e);
    }
    e.failures = e.failures.filter((t) => t > now - this.lockMs);
    e.failures.push(now);
    if (e.failures.length >= this.maxFailures) {
      e.lockedUntil = now + this.lockMs;
      e.failures = [];
      return true;
    }
    return false;
  }

  /** A success forgets earlier failures of that key (not a running lock: that is checked first). */
  succeed(key: string): void {
    const e = this.entries.get(key);
    if (e && e.lockedUntil <= this.clock.now()) this.entries.delete(key);
  }

  private evict(now: number): void {
    for (const [k, e] of this.entries) {
      if (e.lockedUntil <= now && e.failures.every((t) => t <= now - this.lockMs)) this.entries.delete(k);
    }
    // Still full: drop the oldest insertions (Map iterates in insertion order).
    for (const k of this.entries.keys()) {
      if (this.entries.size < this.maxEntries) break;
      this.entries.delete(k);
    }
  }
}
