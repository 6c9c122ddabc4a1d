// The Hono app: resolves the caller, mounts every feature's routes, and answers errors in one shape.
import { Hono } from 'hono';
import { registerCatalogEndpoints } from './admin/catalog.ts';
import { registerEvacuateEndpoint } from './admin/evacuate.ts';
import { registerFleetEndpoints } from './admin/fleet.ts';
import { registerHostEndpoints } from './admin/hosts.ts';
import { appHostOf, handleApp } from './apps/handler.ts';
import { registerAppEndpoints } from './apps/endpoints.ts';
import { registerAuditEndpoints } from './audit/endpoints.ts';
import { registerAuthEndpoints } from './auth/endpoints.ts';
import { registerBillingAdminEndpoints } from './billing/admin-endpoints.ts';
import { registerBillingEndpoints } from './billing/endpoints.ts';
import { registerCliLoginEndpoints } from './cli-login/endpoints.ts';
import { csrfGuard } from './auth/csrf.ts';
import { registerDnsEndpoints } from './dns/endpoints.ts';
import { resolveSecret, sessionFromCookies } from './auth/service.ts';
import { ready } from './boot.ts';
import { buildDeps } from './deps.ts';
import { registerDataEndpoints } from './environments/data-endpoints.ts';
import { registerSavedImageEndpoints } from './images/saved.ts';
import { registerEnvironmentEndpoints } from './environments/endpoints.ts';
import { registerFileEndpoints } from './files/endpoints.ts';
import { errorBody, onError } from './errors.ts';
import { registerHealthEndpoints } from './health/endpoints.ts';
import { registerKeyEndpoints } from './keys/endpoints.ts';
import type { AppEnv } from './lib/api.ts';
import { isHttps } from './lib/request.ts';
import { registerMarketEndpoints } from './market/endpoints.ts';
import { registerOpenApiEndpoints } from './openapi/endpoints.ts';
import { registerTerminalEndpoints } from './terminal/endpoints.ts';
import { registerWebhookEndpoints } from './webhooks/endpoints.ts';
import { registerTeamEndpoints } from './teams/endpoints.ts';
import { registerAgentEndpoints } from './tunnel/connect.ts';

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
    const secret =
      bearer && !bearer.startsWith('rgh_') ? bearer : sessionFromCookies(c.req.header('cookie') ?? null, isHttps(c));
    if (secret) c.set('user', await resolveSecret(deps, secret));
    await next();
  });

  registerHealthEndpoints(app);
  registerAgentEndpoints(app);
  registerAuthEndpoints(app);
  registerCliLoginEndpoints(app);
  registerKeyEndpoints(app);
  registerMarketEndpoints(app);
  registerEnvironmentEndpoints(app);
  registerDataEndpoints(app);
  registerSavedImageEndpoints(app);
  registerAppEndpoints(app);
  registerFileEndpoints(app);
  registerTerminalEndpoints(app);
  registerAuditEndpoints(app);
  registerBillingEndpoints(app);
  registerBillingAdminEndpoints(app);
  registerWebhookEndpoints(app);
  registerTeamEndpoints(app);
  registerHostEndpoints(app);
  registerFleetEndpoints(app);
  registerEvacuateEndpoint(app);
  registerCatalogEndpoints(app);
  registerDnsEndpoints(app);
  registerOpenApiEndpoints(app);

  app.all('/api/*', (c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));
  app.all('*', async (c) =>
    c.env.ASSETS ? c.env.ASSETS.fetch(c.req.raw) : c.json(errorBody('not_found', 'not found'), 404),
  );
  return app;
}
