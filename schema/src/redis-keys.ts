// Every Redis key the platform writes: the seed-compatible routing cache `env:<id>:{ip,ssh_port,type,access_info}`
// plus `env:<id>:host`, and the edge's own short-lived keys. Built only here (a unit test refuses literals elsewhere).
import { PublicAccessInfo } from './api.ts';
import type { EnvironmentType } from './api.ts';
import { ENV_ID_PATTERN, isEnvironmentId } from './ids.ts';

export const redisKeys = {
  ip: (id: string) => `env:${id}:ip`,
  sshPort: (id: string) => `env:${id}:ssh_port`,
  type: (id: string) => `env:${id}:type`,
  accessInfo: (id: string) => `env:${id}:access_info`,
  host: (id: string) => `env:${id}:host`,
  /** Public app ports of an environment (a set of port numbers). */
  publicPorts: (id: string) => `env:${id}:public_ports`,
  /** The latest ResourceMetrics sample of an environment (JSON), from the relay's metrics events. */
  metrics: (id: string) => `env:${id}:metrics`,
  /** Image pull and create progress of an environment while it is `creating` (JSON, 10 minutes). */
  progress: (id: string) => `env:${id}:progress`,
  /** How many data shards a relay keeps (written by the edge when a shard connects). */
  dataShards: (hostId: string) => `host:${hostId}:data_shards`,
  /** Marks a one-use app link's nonce as used (lives twice the link's lifetime). */
  appLinkUsed: (nonce: string) => `applink:${nonce}`,
  /** Console login attempts from one source (an IPv4 address or IPv6 /64 bucket), 15 minutes. */
  loginRateBySource: (bucket: string) => `rl:login:ip:${bucket}`,
  /** Console login attempts from one source for one email (`digest`: hex of SHA-256 over both), 15 minutes. */
  loginRateBySourceEmail: (digest: string) => `rl:login:ip-email:${digest}`,
  /** CLI device logins started (`codes`) or approvals tried (`approve`) from one source bucket, 15 minutes. */
  cliLoginRateBySource: (kind: 'codes' | 'approve', bucket: string) => `rl:cli-${kind}:ip:${bucket}`,
  /** Set once the routing cache was rebuilt from the database; its absence means Redis was lost or flushed. */
  routesBuilt: () => 'routes:built',
} as const;

/**
 * The key families above as patterns (for scans and for tests that check nothing else is written). A key that
 * matches none was built outside this file.
 */
const envKey = (suffix: string) => new RegExp(`^env:${ENV_ID_PATTERN.source.slice(1, -1)}:${suffix}$`);

export const REDIS_KEY_FAMILIES: Record<keyof typeof redisKeys, RegExp> = {
  ip: envKey('ip'),
  sshPort: envKey('ssh_port'),
  type: envKey('type'),
  accessInfo: envKey('access_info'),
  host: envKey('host'),
  publicPorts: envKey('public_ports'),
  metrics: envKey('metrics'),
  progress: envKey('progress'),
  dataShards: /^host:[^:]+:data_shards$/,
  appLinkUsed: /^applink:[A-Za-z0-9_-]+$/,
  loginRateBySource: /^rl:login:ip:.+$/,
  loginRateBySourceEmail: /^rl:login:ip-email:[0-9a-f]+$/,
  cliLoginRateBySource: /^rl:cli-(codes|approve):ip:.+$/,
  routesBuilt: /^routes:built$/,
};

/** The family a key belongs to, or null for a key no family declares. */
export function redisKeyFamily(key: string): keyof typeof redisKeys | null {
  for (const [name, re] of Object.entries(REDIS_KEY_FAMILIES)) if (re.test(key)) return name as keyof typeof redisKeys;
  return null;
}

export function routeKeys(id: string): string[] {
  return [
    redisKeys.ip(id),
    redisKeys.sshPort(id),
    redisKeys.type(id),
    redisKeys.accessInfo(id),
    redisKeys.host(id),
    redisKeys.publicPorts(id),
  ];
}

/** The subset of `@upstash/redis` (and node-redis-like clients) these helpers use. */
export interface RouteRedis {
  mset(values: Record<string, string>): Promise<unknown>;
  mget<T extends unknown[]>(...keys: string[]): Promise<T>;
  del(...keys: string[]): Promise<number>;
  sadd?(key: string, ...members: string[]): Promise<number>;
}

export interface RouteRecord {
  environment_id: string;
  type: EnvironmentType;
  ip: string;
  ssh_port: number;
  host_id: string;
  access_info: PublicAccessInfo;
}

export class SecretInRedisError extends Error {
  override name = 'SecretInRedisError';
}

/**
 * Writes the route of one environment. `access_info` goes through a strict schema that has no
 * password field: a record carrying `ssh_password` (or any unknown field) is refused, not trimmed.
 */
export async function writeRoute(redis: RouteRedis, route: RouteRecord): Promise<void> {
  if (!isEnvironmentId(route.environment_id)) throw new RangeError(`bad environment id: ${route.environment_id}`);
  const parsed = PublicAccessInfo.safeParse(route.access_info);
  if (!parsed.success) {
    throw new SecretInRedisError(
      `access_info refused for Redis: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    );
  }
  if (parsed.data.environment_id !== route.environment_id)
    throw new RangeError('access_info is for another environment');
  const id = route.environment_id;
  await redis.mset({
    [redisKeys.ip(id)]: route.ip,
    [redisKeys.sshPort(id)]: String(route.ssh_port),
    [redisKeys.type(id)]: route.type,
    [redisKeys.host(id)]: route.host_id,
    [redisKeys.accessInfo(id)]: JSON.stringify(parsed.data),
  });
}

/** Reads a route; null when any required key is missing (the cache is then rebuilt from the database). */
export async function readRoute(redis: RouteRedis, id: string): Promise<RouteRecord | null> {
  if (!isEnvironmentId(id)) return null;
  const [ip, port, type, info, host] = await redis.mget<unknown[]>(
    redisKeys.ip(id),
    redisKeys.sshPort(id),
    redisKeys.type(id),
    redisKeys.accessInfo(id),
    redisKeys.host(id),
  );
  if (ip == null || port == null || type == null || info == null || host == null) return null;
  if (type !== 'physical' && type !== 'container') return null;
  // @upstash/redis deserializes JSON values itself; node-redis returns the string.
  let raw: unknown = info;
  if (typeof info === 'string') {
    try {
      raw = JSON.parse(info);
    } catch {
      return null;
    }
  }
  const access = PublicAccessInfo.safeParse(raw);
  if (!access.success) return null;
  return {
    environment_id: id,
    type,
    ip: String(ip),
    ssh_port: Number(port),
    host_id: String(host),
    access_info: access.data,
  };
}

export async function deleteRoute(redis: RouteRedis, id: string): Promise<void> {
  await redis.del(...routeKeys(id));
}
