// Per-isolate service wiring: config, database, Redis and the tunnel namespace, built from the bindings.
import { redisKeys } from '@remotegpu/schema';
import { Redis } from '@upstash/redis/cloudflare';
import type { Bindings } from './env.ts';
import { readConfig, type EdgeConfig } from './config.ts';
import { ensureMigrated, openDatabase, type Database, type Db } from './db/client.ts';
import { ensureSeeded } from './db/seed.ts';
import { rebuildRedis } from './routing/sync.ts';

export interface Deps {
  env: Bindings;
  config: EdgeConfig;
  database: Database;
  db: Db;
  redis: Redis;
}

export function buildDeps(env: Bindings): Deps {
  const config = readConfig(env);
  const database = openDatabase(env.LIBSQL_URL, env.LIBSQL_AUTH_TOKEN);
  // Auto-pipelining would batch several requests' commands into one fetch: not allowed across Workers requests.
  const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, enableTelemetry: false, enableAutoPipelining: false });
  return { env, config, database, db: database.db, redis };
}

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
