// The routing cache in Redis: seed-compatible keys `env:<id>:{ip,ssh_port,type,access_info}` plus `env:<id>:host`.
import { PublicAccessInfo } from './api.ts';
import type { EnvironmentType } from './api.ts';
import { isEnvironmentId } from './ids.ts';

export const redisKeys = {
  ip: (id: string) => `env:${id}:ip`,
  sshPort: (id: string) => `env:${id}:ssh_port`,
  type: (id: string) => `env:${id}:type`,
  accessInfo: (id: string) => `env:${id}:access_info`,
  host: (id: string) => `env:${id}:host`,
  /** Public app ports of an environment (a set of port numbers). */
  publicPorts: (id: string) => `env:${id}:public_ports`,
} as const;

export function routeKeys(id: string): string[] {
  return [redisKeys.ip(id), redisKeys.sshPort(id), redisKeys.type(id), redisKeys.accessInfo(id), redisKeys.host(id), redisKeys.publicPorts(id)];
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
    throw new SecretInRedisError(`access_info refused for Redis: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (parsed.data.environment_id !== route.environment_id) throw new RangeError('access_info is for another environment');
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
    redisKeys.ip(id), redisKeys.sshPort(id), redisKeys.type(id), redisKeys.accessInfo(id), redisKeys.host(id),
  );
  if (ip == null || port == null || type == null || info == null || host == null) return null;
  if (type !== 'physical' && type !== 'container') return null;
  // @upstash/redis deserializes JSON values itself; node-redis returns the string.
  let raw: unknown = info;
  if (typeof info === 'string') {
    try { raw = JSON.parse(info); } catch { return null; }
  }
  const access = PublicAccessInfo.safeParse(raw);
  if (!access.success) return null;
  return {
    environment_id: id, type, ip: String(ip), ssh_port: Number(port), host_id: String(host), access_info: access.data,
  };
}

export async function deleteRoute(redis: RouteRedis, id: string): Promise<void> {
  await redis.del(...routeKeys(id));
}
