// Outages of the edge's two services as typed errors: Redis (the routing cache) and the database (the record).
// The clients are wrapped so that a failure to reach either becomes `ServiceUnavailable`, answered 503
// `redis_unavailable` / `database_unavailable` by the one error handler, and code that can do without the cache
// (route publishing, metrics' latest sample, app lookups) catches it and falls back to the database.
import type { Redis } from '@upstash/redis/cloudflare';

export type Service = 'redis' | 'database';

export class ServiceUnavailable extends Error {
  override name = 'ServiceUnavailable';
  constructor(
    readonly service: Service,
    cause: unknown,
  ) {
    super(
      `${service === 'redis' ? 'Redis' : 'the database'} is unreachable: ${String((cause as Error)?.message ?? cause)}`,
      {
        cause,
      },
    );
  }
}

/** The ServiceUnavailable in an error's cause chain (drizzle and libsql wrap what the client threw), or null. */
export function unavailableIn(err: unknown): ServiceUnavailable | null {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ServiceUnavailable) return e;
  }
  return null;
}

const tag = <T>(p: Promise<T>): Promise<T> =>
  p.catch((err: unknown) => {
    throw unavailableIn(err) ?? new ServiceUnavailable('redis', err);
  });

/**
 * Redis whose every command (and pipeline `exec`) rejects with ServiceUnavailable('redis') when it fails: every
 * Upstash error is an outage here, as the edge sends only well-formed commands.
 */
export function guardRedis(redis: Redis): Redis {
  return new Proxy(redis, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (out instanceof Promise) return tag(out);
        if (prop === 'pipeline' || prop === 'multi') {
          const pipe = out as { exec: (...a: unknown[]) => Promise<unknown> };
          const exec = pipe.exec.bind(pipe);
          pipe.exec = (...a: unknown[]) => tag(exec(...a));
        }
        return out;
      };
    },
  });
}

/**
 * fetch for the database client: a refused connection or a 5xx from the database server becomes
 * ServiceUnavailable('database'); SQL errors (constraints, ...) come back in 200/4xx bodies and pass through.
 */
export function guardedDatabaseFetch(inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    let res: Response;
    try {
      res = await inner(input, init);
    } catch (err) {
      throw new ServiceUnavailable('database', err);
    }
    if (res.status === 502 || res.status === 503 || res.status === 504)
      throw new ServiceUnavailable('database', `HTTP ${res.status}`);
    return res;
  };
}

/** Runs a cache operation that the caller can do without; logs and returns null when Redis is down. */
export async function bestEffort<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if (!unavailableIn(err) || unavailableIn(err)?.service !== 'redis') throw err;
    markCacheStale();
    console.log(JSON.stringify({ level: 'warn', msg: 'redis unavailable, skipped', what, error: String(err) }));
    return null;
  }
}

let stale = false;
/** A cache write was skipped: the next successful cache check rebuilds the routes from the database. */
function markCacheStale(): void {
  stale = true;
}
/** True once after a skipped cache write (the caller rebuilds). */
export function takeCacheStale(): boolean {
  const was = stale;
  stale = false;
  return was;
}
