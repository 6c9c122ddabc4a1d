// Booting an isolate before its first request that needs the database: migrations, the first admin, the routing cache.
import { redisKeys } from '@remotegpu/schema';
import { ensureMigrated } from './db/client.ts';
import { ensureSeeded } from './db/seed.ts';
import type { Deps } from './deps.ts';
import { bestEffort, takeCacheStale } from './lib/unavailable.ts';
import { rebuildRedis } from './routing/sync.ts';
import { expireStuckCreates } from './environments/stuck.ts';

/** Migrations and the first admin, before the first request of an isolate that needs the database. */
export async function ready(deps: Deps): Promise<void> {
  await ensureMigrated(deps.database, deps.env.LIBSQL_URL);
  await ensureSeeded(deps);
  await ensureRoutesCached(deps);
  await sweepStuck(deps);
}

let lastSweep = 0;

/** Now and then (the cache check's interval), environments stuck in `creating` past their deadline fail. */
async function sweepStuck(deps: Deps): Promise<void> {
  if (Date.now() - lastSweep < deps.config.cacheCheckMs) return;
  lastSweep = Date.now();
  await expireStuckCreates(deps);
}

let lastCheck = 0;

/**
 * Redis is a cache: when it comes back empty (lost, flushed, new), or after a cache write was skipped while it was
 * down, rebuild the routes from the database. While it is down, requests go on without it (checked again soon).
 */
async function ensureRoutesCached(deps: Deps): Promise<void> {
  if (Date.now() - lastCheck < deps.config.cacheCheckMs) return;
  lastCheck = Date.now();
  const built = await bestEffort('routing cache check', () => deps.redis.exists(redisKeys.routesBuilt()));
  if (built === null) {
    lastCheck = 0;
    return;
  }
  if (built && !takeCacheStale()) return;
  const rebuilt = await bestEffort('routing cache rebuild', async () => {
    const { written } = await rebuildRedis(deps);
    await deps.redis.set(redisKeys.routesBuilt(), String(Date.now()));
    return written;
  });
  if (rebuilt === null) {
    lastCheck = 0;
    return;
  }
  console.log(JSON.stringify({ level: 'info', msg: 'routing cache rebuilt from the database', routes: rebuilt }));
}
