// GET /healthz: is the edge able to reach Redis and the database? `{status, redis: ok|down, database: ok|down, *_error}`
import type { Hono } from 'hono';
import type { AppEnv } from '../lib/api.ts';
import { ensureMigrated } from '../db/client.ts';

export function registerHealthEndpoints(app: Hono<AppEnv>): void {
  app.get('/healthz', async (c) => {
    const deps = c.get('deps');
    /** `ok` or `down`, and why it is down. */
    const check = async (fn: () => Promise<unknown>): Promise<[string, string | null]> => {
      try {
        await fn();
        return ['ok', null];
      } catch (err) {
        return ['down', String((err as Error).message ?? err).slice(0, 300)];
      }
    };
    const [[redis, redisError], [database, databaseError]] = await Promise.all([
      check(() => deps.redis.ping()),
      check(async () => {
        await deps.database.client.execute('SELECT 1');
        await ensureMigrated(deps.database, deps.env.LIBSQL_URL);
      }),
    ]);
    const ok = redis === 'ok' && database === 'ok';
    return c.json(
      {
        status: ok ? 'ok' : 'degraded',
        redis,
        database,
        ...(redisError ? { redis_error: redisError } : {}),
        ...(databaseError ? { database_error: databaseError } : {}),
      },
      ok ? 200 : 503,
    );
  });
}
