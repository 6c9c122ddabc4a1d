// The Hono app: resolves the caller, mounts every feature's routes, and answers errors in one shape.
import { Hono } from 'hono';
import { registerCatalogRoutes } from './admin/catalog.ts';
import { registerHostRoutes } from './admin/hosts.ts';
import { appHostOf, handleApp } from './apps/handler.ts';
import { registerAppRoutes } from './apps/routes.ts';
import { registerAuditRoutes } from './audit/routes.ts';
import { registerAuthRoutes } from './auth/routes.ts';
import { csrfGuard } from './auth/csrf.ts';
import { resolveSecret, sessionFromCookies } from './auth/service.ts';
import { buildDeps, ready } from './deps.ts';
import { registerEnvironmentRoutes } from './environments/routes.ts';
import { errorBody, onError } from './errors.ts';
import { registerHealthRoutes } from './health/routes.ts';
import { registerKeyRoutes } from './keys/routes.ts';
import type { AppEnv } from './lib/api.ts';
import { isHttps } from './lib/request.ts';
import { registerMarketRoutes } from './market/routes.ts';
import { registerOpenApiRoutes } from './openapi/routes.ts';
import { registerAgentRoutes } from './tunnel/connect.ts';

/** Paths the Worker answers on the console's host; everything else there is a static asset. */
const WORKER_PATHS = /^\/(api|agent)(\/|$)|^\/healthz$/;

export function buildApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(onError);

  // App hosts (`<envid>-<port>.container.<domain>`) never reach the API: they go through the relay's tunnel.
  app.use('*', async (c, next) => {
    const target = appHostOf(c.req.raw, c.env);
    if (target) return handleApp(c.req.raw, c.env, target);
    // The console's files (and its SPA fallback) need no session, database or Redis.
    if (c.env.ASSETS && !WORKER_PATHS.test(c.req.path)) return c.env.ASSETS.fetch(c.req.raw);
    return next();
  });

  // Before anything is read or written: a browser write from another origin changes nothing.
  app.use('/api/*', csrfGuard);

  app.use('*', async (c, next) => {
    const deps = buildDeps(c.env);
    c.set('deps', deps);
    c.set('user', null);
    if (c.req.path !== '/healthz') await ready(deps);
    const bearer = c.req.header('authorization')?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const secret = bearer && !bearer.startsWith('rgh_') ? bearer : sessionFromCookies(c.req.header('cookie') ?? null, isHttps(c));
    if (secret) c.set('user', await resolveSecret(deps, secret));
    await next();
  });

  registerHealthRoutes(app);
  registerAgentRoutes(app);
  registerAuthRoutes(app);
  registerKeyRoutes(app);
  registerMarketRoutes(app);
  registerEnvironmentRoutes(app);
  registerAppRoutes(app);
  registerAuditRoutes(app);
  registerHostRoutes(app);
  registerCatalogRoutes(app);
  registerOpenApiRoutes(app);

  app.all('/api/*', (c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));
  app.all('*', async (c) => (c.env.ASSETS ? c.env.ASSETS.fetch(c.req.raw) : c.json(errorBody('not_found', 'not found'), 404)));
  return app;
}
