// Who may open an app: a public port, or the owner's host-only app cookie (from a one-use console link).
import { tables } from '@remotegpu/schema';
import { and, eq, gt, isNull, or } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { cookieValues } from '../lib/cookies.ts';
import type { AppTarget } from './app-target.ts';
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

/** True while the credential a grant hangs on (a session or an API token) still exists and belongs to the user. */
export async function credentialAlive(
  deps: Deps,
  claims: Pick<AppClaims, 'c' | 'v' | 'u'>,
  now = Date.now(),
): Promise<boolean> {
  const key = `cred:${claims.v}:${claims.c}`;
  const hit = cached(key, now);
  if (hit) return hit.userId === claims.u;
  let userId: string | null = null;
  if (claims.v === 'session') {
    const [s] = await deps.db
      .select({ user_id: tables.sessions.user_id })
      .from(tables.sessions)
      .where(and(eq(tables.sessions.id, claims.c), gt(tables.sessions.expires_at, now)));
    userId = s?.user_id ?? null;
  } else {
    const t = tables.apiTokens;
    const [row] = await deps.db
      .select({ user_id: t.user_id })
      .from(t)
      .where(and(eq(t.id, claims.c), or(isNull(t.expires_at), gt(t.expires_at, now))));
    userId = row?.user_id ?? null;
  }
  remember(key, userId, now);
  return userId === claims.u;
}

export interface AccessInput {
  request: Request;
  route: AppTarget;
  port: number;
  secretKey: string;
  deps: () => Promise<Deps>;
}

/**
 * Admins get no silent access: only a grant of the owner (or of a member of its team) counts, whatever the role. The console's session cookie
 * is host-only and never reaches an app host. Every `rg_app` value is tried: one planted by a sibling app host for a
 * parent domain names another environment and never matches, and must not hide the owner's own.
 */
export async function mayOpen(
  { request, route, port, secretKey, deps }: AccessInput,
  now = Date.now(),
): Promise<boolean> {
  if (route.publicPorts.has(port)) return true;
  for (const appCookie of cookieValues(request.headers.get('cookie'), APP_COOKIE).slice(0, 8)) {
    const claims = await verifyAppToken(secretKey, appCookie, 'app', now);
    if (
      claims &&
      claims.e === route.envId &&
      claims.p === port &&
      route.operators.has(claims.u) &&
      (await credentialAlive(await deps(), claims, now))
    )
      return true;
  }
  return false;
}
