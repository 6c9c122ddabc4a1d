// Typed tunnel errors: the supervisor decides by class (stop on Permanent, wait and retry otherwise), never by text.

/** Retrying cannot help (a revoked or wrong token): the agent exits with this message. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

/** Worth another try; `delayMs` overrides the backoff when a specific wait is called for. */
export class RetryableError extends Error {
  override name = 'RetryableError';
  constructor(
    message: string,
    readonly delayMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** How long to wait after a protocol mismatch or a replaced connection: retrying fast cannot help. */
export const SLOW_RETRY_MS = 5 * 60_000;
