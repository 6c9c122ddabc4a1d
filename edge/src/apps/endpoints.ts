// /environments/:id/apps: the owner's app links (one-use signed URLs), public/private per port, and the list.
import { AppLink, AppLinkRequest, AppPort, AppPortRequest, appHostName, redisKeys, tables } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { operatedEnv } from '../environments/access.ts';
import { IdParam, PortParam, endpoint, type AppEnv, type Ctx } from '../lib/api.ts';
import type { AuthUser } from '../auth/service.ts';
import type { Deps } from '../deps.ts';
import { bestEffort } from '../lib/unavailable.ts';
import { forgetAppTarget } from './app-target.ts';
import { LINK_PARAM, LINK_TTL_MS, signAppToken } from './tokens.ts';

/** `:id` and `:port` of the per-port endpoints. */
const AppPortParams = z.object({ id: IdParam, port: PortParam });

/** The app's origin as the caller reaches this edge (scheme and listen port of the API request, so it works locally too). */
function appOrigin(c: Ctx, envId: string, port: number): string {
  const u = new URL(c.req.url);
  return `${u.protocol}//${appHostName(envId, port, c.get('deps').config.appsDomain)}${u.port ? `:${u.port}` : ''}`;
}

/** Owner only: an admin managing the platform does not get into a renter's apps. */
async function ownEnv(deps: Deps, user: AuthUser, id: string) {
  return operatedEnv(deps, user, id, "only the owner opens or shares this environment's apps");
}

export function registerAppEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/environments/:id/apps',
      summary: 'App ports with their sharing and URL',
      tag: 'apps',
      auth: 'user',
      response: z.object({ items: z.array(AppPort) }),
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const env = await ownEnv(deps, user, params.id);
      const rows = await deps.db.select().from(tables.appPorts).where(eq(tables.appPorts.environment_id, env.id));
      const ports = new Map(
        rows.map((r) => [r.port, { public: r.public, first_byte_timeout_ms: r.first_byte_timeout_ms }]),
      );
      if (!ports.has(8888)) ports.set(8888, { public: false, first_byte_timeout_ms: null }); // Jupyter's port is always listed, as in the access info
      const items = [...ports]
        .sort((a, b) => a[0] - b[0])
        .map(([port, p]) => ({ port, ...p, url: `${appOrigin(c, env.id, port)}/` }));
      return c.json({ items });
    },
  );

  endpoint(
    app,
    {
      method: 'put',
      path: '/api/v1/environments/:id/apps/:port',
      params: AppPortParams,
      tag: 'apps',
      auth: 'user',
      body: AppPortRequest,
      response: AppPort,
      summary:
        'Make an app port public or private, and/or set its first-byte deadline (first_byte_timeout_ms, 1000-86400000; null = none)',
    },
    async (c, { user, body, params }) => {
      const deps = c.get('deps');
      const env = await ownEnv(deps, user, params.id);
      const { port } = params;
      const set = {
        ...(body.public !== undefined ? { public: body.public } : {}),
        ...(body.first_byte_timeout_ms !== undefined ? { first_byte_timeout_ms: body.first_byte_timeout_ms } : {}),
      };
      const [row] = await deps.db
        .insert(tables.appPorts)
        .values({ environment_id: env.id, port, ...set })
        .onConflictDoUpdate({ target: [tables.appPorts.environment_id, tables.appPorts.port], set })
        .returning();
      if (!row) throw new Error('app port upsert returned no row');
      // The database decides who may open an app; the Redis set is a copy for readers of the seed's keys.
      if (body.public === true)
        await bestEffort('public port', () => deps.redis.sadd(redisKeys.publicPorts(env.id), String(port)));
      else if (body.public === false)
        await bestEffort('private port', () => deps.redis.srem(redisKeys.publicPorts(env.id), String(port)));
      // Other isolates follow within ROUTE_CACHE_MS (5 s), as for sharing.
      forgetAppTarget(env.id);
      return c.json({
        port,
        public: row.public,
        first_byte_timeout_ms: row.first_byte_timeout_ms,
        url: `${appOrigin(c, env.id, port)}/`,
      });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/environments/:id/apps/:port/link',
      params: AppPortParams,
      summary: 'A one-use link (valid 60 s) that opens a private app in the browser',
      tag: 'apps',
      auth: 'user',
      body: AppLinkRequest,
      response: AppLink,
    },
    async (c, { user, body, params }) => {
      const deps = c.get('deps');
      const env = await ownEnv(deps, user, params.id);
      const { port } = params;
      const expires = Date.now() + LINK_TTL_MS;
      const token = await signAppToken(deps.config.secretKey, {
        k: 'link',
        e: env.id,
        p: port,
        u: user.id,
        c: user.credentialId,
        v: user.via,
        x: expires,
        n: crypto.randomUUID(),
      });
      const url = new URL(body.path ?? '/', appOrigin(c, env.id, port));
      url.searchParams.set(LINK_PARAM, token);
      return c.json({ url: url.toString(), expires_at: new Date(expires).toISOString() });
    },
  );
}
