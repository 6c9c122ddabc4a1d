// GET /healthz: is the edge able to reach Redis and the database?
import type { Hono } from 'hono';
import type { AppEnv } from '../lib/api.ts';
import { ensureMigrated } from '../db/client.ts';

export function registerHealthEndpoints(app: Hono<AppEnv>): void {
  app.get('/healthz', async (c) => {
    const deps = c.get('deps');
    const check = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
        return 'ok';
      } catch (err) {
        return String((err as Error).message ?? err).slice(0, 300);
      }
    };
    const [redis, database] = await Promise.all([
      check(() => deps.redis.ping()),
      check(async () => {
        await deps.database.client.execute('SELECT 1');
        await ensureMigrated(deps.database, deps.env.LIBSQL_URL);
      }),
    ]);
    const ok = redis === 'ok' && database === 'ok';
    return c.json({ status: ok ? 'ok' : 'degraded', redis, database }, ok ? 200 : 503);
  });
}
