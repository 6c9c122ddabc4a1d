// `until(what, fn, {timeout})`: poll until `fn` gives a truthy value; there is no default deadline (as Coder's testutil.Eventually).
// Runtime-free (no node:*), so Node code, the tests and the workerd tests share it.

export interface UntilOptions {
  /** Milliseconds; required: a wait without a deadline hangs a test run instead of failing it. */
  timeout: number;
  /** Milliseconds between tries (default 100). */
  interval?: number;
}

type Maybe<T> = T | null | undefined | false;

/** Resolves with `fn`'s first truthy value; an error thrown by `fn` counts as "not yet" and is reported at the deadline. */
export async function until<T>(what: string, fn: () => Promise<Maybe<T>> | Maybe<T>, o: UntilOptions): Promise<T> {
  if (!(o.timeout > 0)) throw new Error(`until(${what}): a positive timeout is required`);
  const end = Date.now() + o.timeout;
  for (;;) {
    let last: unknown;
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= end) {
      throw new Error(
        `timed out after ${o.timeout} ms waiting for ${what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, o.interval ?? 100));
  }
}
