// Booting an isolate before its first request that needs the database: migrations, the first admin, the routing cache.
import { redisKeys } from '@remotegpu/schema';
import { ensureMigrated } from './db/client.ts';
import { ensureSeeded } from './db/seed.ts';
import type { Deps } from './deps.ts';
import { rebuildRedis } from './routing/sync.ts';

/** Migrations and the first admin, before the first request of an isolate that needs the database. */
export async function ready(deps: Deps): Promise<void> {
  await ensureMigrated(deps.database, deps.env.LIBSQL_URL);
  await ensureSeeded(deps);
  await ensureRoutesCached(deps);
}

const CHECK_EVERY_MS = 30_000;
let lastCheck = 0;

/** Redis is a cache: when it comes back empty (lost, flushed, new), rebuild the routes from the database. */
async function ensureRoutesCached(deps: Deps): Promise<void> {
  if (Date.now() - lastCheck < CHECK_EVERY_MS) return;
  lastCheck = Date.now();
  if (await deps.redis.exists(redisKeys.routesBuilt())) return;
  const { written } = await rebuildRedis(deps);
  await deps.redis.set(redisKeys.routesBuilt(), String(Date.now()));
  console.log(JSON.stringify({ level: 'info', msg: 'routing cache rebuilt from the database', routes: written }));
}
