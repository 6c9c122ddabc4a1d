// GET /agent/connect: authenticate a relay by its host token and hand the WebSocket to its HostTunnel
// (`?role=data&shard=i&shards=K`: to its DataShard `<hostId>:data:<i>`).
import { DATA_ROLE, MAX_DATA_SHARDS, dataShardName, redisKeys, tables } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { errorBody } from '../errors.ts';
import { bestEffort } from '../lib/unavailable.ts';
import type { AppEnv } from '../lib/api.ts';
import { sha256Hex } from '../platform/crypto.ts';
import { tunnelStub } from './stub.ts';

export function registerAgentEndpoints(app: Hono<AppEnv>): void {
  app.get('/agent/connect', async (c) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket')
      return c.json(errorBody('upgrade_required', 'expected a WebSocket upgrade'), 426);
    const token = c.req.header('authorization')?.match(/^Bearer\s+(rgh_[A-Za-z0-9]{20,100})$/)?.[1];
    if (!token) return c.json(errorBody('unauthorized', 'a host token is required'), 401);
    const deps = c.get('deps');
    const [host] = await deps.db
      .select({ id: tables.hosts.id })
      .from(tables.hosts)
      .where(eq(tables.hosts.token_hash, await sha256Hex(token)));
    if (!host) return c.json(errorBody('unauthorized', 'unknown or revoked host token'), 401);
    const headers = new Headers(c.req.raw.headers);
    headers.set('x-remotegpu-host-id', host.id);
    headers.delete('authorization');
    if (c.req.query('role') === DATA_ROLE) {
      const shard = Number(c.req.query('shard'));
      const shards = Number(c.req.query('shards'));
      if (
        !Number.isInteger(shard) ||
        !Number.isInteger(shards) ||
        shards < 1 ||
        shards > MAX_DATA_SHARDS ||
        shard < 0 ||
        shard >= shards
      ) {
        return c.json(
          errorBody('validation_failed', `shard must be 0..shards-1 and shards 1..${MAX_DATA_SHARDS}`),
          400,
        );
      }
      // The Worker picks a shard by environment among K: K is what the relay's latest connection says.
      await bestEffort('data shard count', () => deps.redis.set(redisKeys.dataShards(host.id), String(shards)));
      headers.set('x-remotegpu-data-shard', String(shard));
      const ns = deps.env.DATA_SHARD;
      return ns.get(ns.idFromName(dataShardName(host.id, shard))).fetch(new Request(c.req.url, { headers }));
    }
    return tunnelStub(deps, host.id).fetch(new Request(c.req.url, { headers }));
  });
}
