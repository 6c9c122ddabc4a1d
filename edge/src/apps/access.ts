// Who may open an app: a public port, the owner's app cookie (from a console link), or the owner's console session cookie.
import { tables } from '@remotegpu/schema';
import { and, eq, gt, isNull, or } from 'drizzle-orm';
import { SESSION_COOKIE, resolveSecret } from '../auth/service.ts';
import type { Deps } from '../deps.ts';
import type { AppRoute } from './route-lookup.ts';
import { APP_COOKIE, verifyAppToken, type AppClaims } from './tokens.ts';

const GRANT_CACHE_MS = 5_000;
const grants = new Map<string, { userId: string | null; until: number }>();

function cached(key: string, now: number): { userId: string | null } | undefined {
  const g = grants.get(key);
  return g && g.until > now ? g : undefined;
}
function remember(key: string, userId: string | null, now: number): void {
  if (grants.size > 10_000) grants.clear();
  grants.set(key, { userId, until: now + GRANT_CACHE_MS });
}

export function readCookie(request: Request, name: string): string | null {
  const header = request.headers.get('cookie');
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** True while the credential a grant hangs on (a session or an API token) still exists and belongs to the user. */
export async function credentialAlive(deps: Deps, claims: Pick<AppClaims, 'c' | 'v' | 'u'>, now = Date.now()): Promise<boolean> {
  const key = `cred:${claims.v}:${claims.c}`;
  const hit = cached(key, now);
  if (hit) return hit.userId === claims.u;
  let userId: string | null = null;
  if (claims.v === 'session') {
    const [s] = await deps.db.select({ user_id: tables.sessions.user_id }).from(tables.sessions)
      .where(and(eq(tables.sessions.id, claims.c), gt(tables.sessions.expires_at, now)));
    userId = s?.user_id ?? null;
  } else {
    const t = tables.apiTokens;
    const [row] = await deps.db.select({ user_id: t.user_id }).from(t)
      .where(and(eq(t.id, claims.c), or(isNull(t.expires_at), gt(t.expires_at, now))));
    userId = row?.user_id ?? null;
  }
  remember(key, userId, now);
  return userId === claims.u;
}

export interface AccessInput {
  request: Request;
  route: AppRoute;
  port: number;
  secretKey: string;
  deps: () => Promise<Deps>;
}

/** Admins get no silent access: only the owner's own credentials count, whatever the role. */
export async function mayOpen({ request, route, port, secretKey, deps }: AccessInput, now = Date.now()): Promise<boolean> {
  if (route.publicPorts.has(port)) return true;
  const appCookie = readCookie(request, APP_COOKIE);
  if (appCookie) {
    const claims = await verifyAppToken(secretKey, appCookie, 'app', now);
    if (claims && claims.e === route.envId && claims.p === port && claims.u === route.ownerId && await credentialAlive(await deps(), claims, now)) return true;
  }
  const session = readCookie(request, SESSION_COOKIE);
  if (session && session.length <= 200) {
    // Keyed by the secret itself: this map lives only in the isolate's memory, and hashing per request costs more.
    const key = `sess:${session}`;
    let hit = cached(key, now);
    if (!hit) {
      const user = await resolveSecret(await deps(), session);
      remember(key, user?.id ?? null, now);
      hit = { userId: user?.id ?? null };
    }
    if (hit.userId !== null && hit.userId === route.ownerId) return true;
  }
  return false;
}
