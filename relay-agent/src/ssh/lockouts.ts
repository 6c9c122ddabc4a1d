// Login lockouts over both scopes (a source; a source and environment), behind one async seam so SSH workers can share
// the primary's counters.
import { FailureLimiter } from './limiter.ts';
import type { GatewayLimits } from './limits.ts';

/** Which scopes a failure locked. */
export interface FailResult {
  source: boolean;
  pair: boolean;
}

/**
 * The lockout counters: `source` is an address bucket (IPv4 address or IPv6 /64), `pair` that bucket and an
 * environment. In SSH workers these are calls to the primary, which holds the one set of counters.
 */
export interface Lockouts {
  /** Whether either scope is locked now. */
  isLocked(source: string, pair: string): Promise<boolean>;
  /** Counts one failure in both scopes. */
  fail(source: string, pair: string): Promise<FailResult>;
  /** A success forgets the pair's earlier failures (not a running lock). */
  succeed(pair: string): void;
}

/** The counters themselves, in this process. */
export class LocalLockouts implements Lockouts {
  private readonly sources: FailureLimiter;
  private readonly pairs: FailureLimiter;

  constructor(limits: Pick<GatewayLimits, 'maxFailures' | 'maxFailuresPerSource' | 'lockMs'>) {
    this.sources = new FailureLimiter(limits.maxFailuresPerSource, limits.lockMs);
    this.pairs = new FailureLimiter(limits.maxFailures, limits.lockMs);
  }

  isLocked(source: string, pair: string): Promise<boolean> {
    return Promise.resolve(this.sources.isLocked(source) || this.pairs.isLocked(pair));
  }

  fail(source: string, pair: string): Promise<FailResult> {
    return Promise.resolve({ source: this.sources.fail(source), pair: this.pairs.fail(pair) });
  }

  succeed(pair: string): void {
    this.pairs.succeed(pair);
  }
}
