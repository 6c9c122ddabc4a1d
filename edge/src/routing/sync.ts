// Keeps the routing cache (Redis) and the relay's route set in step with the database.
import { deleteRoute, redisKeys, tables, writeRoute } from '@remotegpu/schema';
import { and, eq, inArray } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { bestEffort } from '../lib/unavailable.ts';
import { tunnelStub } from '../tunnel/stub.ts';
import { buildRoutes, loadEnv, routeRecord, SERVED_STATUSES } from './relay-routes.ts';

type EnvRow = typeof tables.environments.$inferSelect;

/** Writes the Redis keys of a routable environment and pushes its route to the relay. */
export async function publishRoute(deps: Deps, envOrId: EnvRow | string): Promise<void> {
  const env = typeof envOrId === 'string' ? await loadEnv(deps, envOrId) : envOrId;
  if (!env) return;
  if (env.status === 'running' || env.status === 'stopped')
    await bestEffort('write route', () => writeRoute(deps.redis, routeRecord(deps, env)));
  const [route] = await buildRoutes(deps, [env]);
  if (route) await tunnelStub(deps, env.host_id).pushRoute(route);
}

/** Removes the Redis keys and asks the relay to drop the route; true when the relay confirmed it. */
export async function unpublishRoute(deps: Deps, env: EnvRow): Promise<boolean> {
  await bestEffort('delete route', () => deleteRoute(deps.redis, env.id));
  return tunnelStub(deps, env.host_id).removeRoute(env.id);
}

/** Rebuilds every environment's Redis keys from the database (POST /admin/routes/rebuild, and at start). */
export async function rebuildRedis(deps: Deps): Promise<{ written: number }> {
  const envs = await deps.db
    .select()
    .from(tables.environments)
    .where(inArray(tables.environments.status, ['running', 'stopped']));
  for (const env of envs) await writeRoute(deps.redis, routeRecord(deps, env));
  // The public app ports too: without them a lost cache would silently make public apps private.
  const open = await deps.db.select().from(tables.appPorts).where(eq(tables.appPorts.public, true));
  const live = new Set(envs.map((e) => e.id));
  for (const a of open)
    if (live.has(a.environment_id)) await deps.redis.sadd(redisKeys.publicPorts(a.environment_id), String(a.port));
  return { written: envs.length };
}

export async function servedEnvs(deps: Deps, hostId: string): Promise<EnvRow[]> {
  return deps.db
    .select()
    .from(tables.environments)
    .where(and(eq(tables.environments.host_id, hostId), inArray(tables.environments.status, [...SERVED_STATUSES])));
}
