// Where an app lives and who may open it: the database (relay, owner, public ports) and Redis (shard count), cached per isolate.
import { redisKeys, tables } from '@remotegpu/schema';
import { and, eq, inArray } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { bestEffort } from '../lib/unavailable.ts';

export interface AppTarget {
  envId: string;
  hostId: string;
  /** Who may open its private ports: its creator, and its team's owners and members (not read-only ones). */
  operators: Set<string>;
  publicPorts: Set<number>;
  /** Data shards the relay keeps (K); the environment's traffic goes to one of them. */
  shards: number;
  /** Owners' first-byte deadlines by port (ports without one wait as long as the app takes). */
  firstByteMs: Map<number, number>;
}

/** Long enough to spare Redis and the database on every request, short enough that a change shows quickly. */
const ROUTE_CACHE_MS = 5_000;
const MAX_ENTRIES = 10_000;

type Entry = { value: AppTarget | null; until: number };
const cache = new Map<string, Entry>();

/** Forgets a cached route in this isolate (after a change made here; other isolates follow within ROUTE_CACHE_MS). */
export function forgetAppTarget(envId: string): void {
  cache.delete(envId);
}

export async function lookupAppTarget(
  envId: string,
  deps: () => Promise<Deps>,
  now = Date.now(),
): Promise<AppTarget | null> {
  const hit = cache.get(envId);
  if (hit && hit.until > now) return hit.value;
  const value = await load(envId, await deps());
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(envId, { value, until: now + ROUTE_CACHE_MS });
  return value;
}

const SERVED = new Set(['running', 'stopped']);

async function load(envId: string, deps: Deps): Promise<AppTarget | null> {
  // The owner, the status, the relay and who may open which port come from the database (the record): a stale
  // or lost cache can never widen access or send a request to another relay. Redis only adds the data shard count.
  const [[env], ports] = await Promise.all([
    deps.db
      .select({
        user_id: tables.environments.user_id,
        status: tables.environments.status,
        host_id: tables.environments.host_id,
        team_id: tables.environments.team_id,
      })
      .from(tables.environments)
      .where(eq(tables.environments.id, envId)),
    deps.db.select().from(tables.appPorts).where(eq(tables.appPorts.environment_id, envId)),
  ]);
  if (!env || !SERVED.has(env.status)) return null;
  const firstByteMs = new Map(
    ports.filter((r) => r.first_byte_timeout_ms !== null).map((r) => [r.port, r.first_byte_timeout_ms!]),
  );
  const hostId = env.host_id;
  const m = tables.teamMembers;
  const members = env.team_id
    ? await deps.db
        .select({ user_id: m.user_id })
        .from(m)
        .where(and(eq(m.team_id, env.team_id), inArray(m.role, ['owner', 'member'])))
    : [];
  const publicPorts = new Set(ports.filter((r) => r.public).map((r) => r.port));
  // Without Redis, shard 0: every relay keeps it.
  const shardsRaw = await bestEffort('data shard count', () => deps.redis.get<unknown>(redisKeys.dataShards(hostId)));
  const shards = Number(shardsRaw ?? 1);
  return {
    envId,
    hostId,
    operators: new Set([env.user_id, ...members.map((r) => r.user_id)]),
    publicPorts,
    shards: Number.isInteger(shards) && shards >= 1 ? shards : 1,
    firstByteMs,
  };
}
