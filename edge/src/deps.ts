// Per-isolate service wiring: config, database, Redis and the tunnel namespace, built from the bindings (no I/O here:
// booting the database and the cache is boot.ts).
import { Redis } from '@upstash/redis/cloudflare';
import type { Bindings } from './env.ts';
import { readConfig, type EdgeConfig } from './config.ts';
import { guardRedis } from './lib/unavailable.ts';
import { openDatabase, type Database, type Db } from './db/client.ts';

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
  const redis = guardRedis(
    new Redis({
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
      enableTelemetry: false,
      enableAutoPipelining: false,
    }),
  );
  return { env, config, database, db: database.db, redis };
}
