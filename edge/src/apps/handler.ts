// App hosts `<envid>-<port>.<apps domain>`: route lookup, the link → cookie exchange, access control, then the tunnel.
import { parseAppHost, redisKeys, type AppHost } from '@remotegpu/schema';
import { readConfig } from '../config.ts';
import { ready } from '../boot.ts';
import { buildDeps, type Deps } from '../deps.ts';
import type { Bindings } from '../env.ts';
import { credentialAlive, mayOpen } from './access.ts';
import { buildOpenHead, forwardToShard } from './forward.ts';
import { appError } from './pages.ts';
import { lookupAppTarget, type AppTarget } from './app-target.ts';
import { APP_COOKIE, APP_COOKIE_TTL_MS, LINK_PARAM, LINK_TTL_MS, signAppToken, verifyAppToken } from './tokens.ts';

/** The app a request is for, or null when its Host is the console/API (or anything else). */
export function appHostOf(request: Request, env: Bindings): AppHost | null {
  const host = (request.headers.get('host') ?? new URL(request.url).host).toLowerCase();
  const appsDomain = readConfig(env).appsDomain;
  // The common case (console, API) costs one string search.
  if (!host.includes(`.${appsDomain}`)) return null;
  return parseAppHost(host, appsDomain);
}

export async function handleApp(request: Request, env: Bindings, app: AppHost): Promise<Response> {
  const config = readConfig(env);
  // Clients are built only when the isolate's caches miss: a warm app request touches no database.
  let depsP: Promise<Deps> | null = null;
  const deps = () =>
    (depsP ??= (async () => {
      const d = buildDeps(env);
      await ready(d);
      return d;
    })());
  const consoleUrl = config.publicUrl;
  const route = await lookupAppTarget(app.envId, deps);
  if (!route) return appError(request, 404, 'not_found', `no running environment ${app.envId}`, consoleUrl);
  const url = new URL(request.url);
  const link = url.searchParams.get(LINK_PARAM);
  if (link !== null) return redeemLink(request, url, link, route, app.port, config.secretKey, deps, consoleUrl);
  if (!(await mayOpen({ request, route, port: app.port, secretKey: config.secretKey, deps }))) {
    return appError(
      request,
      403,
      'forbidden',
      'this app is private to the owner of the environment: open it from the console',
      consoleUrl,
    );
  }
  const clientIp = request.headers.get('cf-connecting-ip') ?? '127.0.0.1';
  return forwardToShard(
    request,
    env,
    route,
    buildOpenHead(request, app.envId, app.port, clientIp),
    firstByteDeadline(route.firstByteMs.get(app.port), config.appFirstByteMs),
  );
}

/** The shorter of the owner's per-port deadline and the operator's cap; 0 (no deadline) when neither is set. */
function firstByteDeadline(owner: number | undefined, operator: number | null): number {
  const caps = [owner, operator].filter((v): v is number => typeof v === 'number' && v > 0);
  return caps.length ? Math.min(...caps) : 0;
}

/** A one-use link token from the console becomes a host-only cookie; the redirect takes the token out of the URL (and history). */
async function redeemLink(
  request: Request,
  url: URL,
  token: string,
  route: AppTarget,
  port: number,
  secret: string,
  deps: () => Promise<Deps>,
  consoleUrl: string | null,
): Promise<Response> {
  const claims = await verifyAppToken(secret, token, 'link');
  const denied = () =>
    appError(
      request,
      403,
      'forbidden',
      'this app link is invalid, expired or already used: open the app again from the console',
      consoleUrl,
    );
  if (!claims || claims.e !== route.envId || claims.p !== port || !route.operators.has(claims.u) || !claims.n)
    return denied();
  const d = await deps();
  if (!(await credentialAlive(d, claims))) return denied();
  const first = await d.redis.set(redisKeys.appLinkUsed(claims.n), '1', { nx: true, px: LINK_TTL_MS * 2 });
  if (first !== 'OK') return denied();
  const cookie = await signAppToken(secret, { ...claims, k: 'app', x: Date.now() + APP_COOKIE_TTL_MS, n: undefined });
  url.searchParams.delete(LINK_PARAM);
  const secure = url.protocol === 'https:' ? '; Secure' : '';
  return new Response(null, {
    status: 302,
    headers: {
      location: `${url.pathname}${url.search}`,
      'set-cookie': `${APP_COOKIE}=${cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${APP_COOKIE_TTL_MS / 1000}${secure}`,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    },
  });
}
