// The reconnect loop: one run() per connection; backoff between runs, reset once a connection stayed up long enough.
import type { Logger } from '../contracts.ts';
import { Backoff } from './backoff.ts';
import type { Clock } from './clock.ts';
import { PermanentError, RetryableError } from './errors.ts';

export interface RunContext {
  signal: AbortSignal;
  /** The connection is established (welcome received): its uptime counts from here. */
  connected(): void;
}

export interface SuperviseOptions {
  /** One whole connection: resolves or rejects when it ends. */
  run(ctx: RunContext): Promise<void>;
  backoff: Backoff;
  /** A connection up at least this long resets the backoff. */
  stableMs: number;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
}

/** Runs until the signal aborts (resolves) or a PermanentError ends it (rejects). */
export async function supervise(opts: SuperviseOptions): Promise<void> {
  const { clock, log, backoff, signal } = opts;
  while (!signal.aborted) {
    let connectedAt: number | null = null;
    let failure: unknown;
    try {
      await opts.run({
        signal,
        connected: () => {
          connectedAt = clock.now();
        },
      });
      failure = new RetryableError('connection closed');
    } catch (err) {
      if (err instanceof PermanentError) throw err;
      failure = err;
    }
    if (signal.aborted) return;
    if (connectedAt !== null && clock.now() - connectedAt >= opts.stableMs) backoff.reset();
    const hinted = failure instanceof RetryableError ? failure.delayMs : undefined;
    const delay = hinted ?? backoff.next();
    log.warn('tunnel down, reconnecting', {
      err: failure instanceof Error ? failure.message : String(failure),
      retry_in_ms: delay,
      attempt: backoff.attempts,
    });
    await clock.sleep(delay, signal);
  }
}
