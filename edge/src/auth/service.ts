// Accounts: users, console sessions and API tokens (secrets stored as SHA-256), login rate limits on Redis.
import { addressBucket, generateToken, redisKeys, tables, type TokenScope } from '@remotegpu/schema';
import { and, eq, gt, isNull, or } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { singleCookie } from '../lib/cookies.ts';
import { newId } from '../lib/ids.ts';
import { sha256Hex } from '../platform/crypto.ts';

export interface AuthUser {
  id: string;
  email: string;
  role: 'user' | 'admin';
  via: 'session' | 'token';
  credentialId: string;
  /** An API token's scopes; null = unrestricted (sessions, tokens made before scopes). */
  scopes: TokenScope[] | null;
  /** Set by the endpoint wrapper: the request changes something (any method but GET); read-only roles refuse it. */
  writes?: boolean;
}

/**
 * The console's session cookie, host-only (never scoped to a parent domain: app hosts must not receive it).
 * Over HTTPS it is `__Host-rg_session`: browsers refuse a `__Host-` cookie that names a Domain, so a page on an
 * app host cannot plant one for the console (cookie tossing). Plain HTTP (local development) uses `rg_session`.
 */
export const SESSION_COOKIE = 'rg_session';
export const SECURE_SESSION_COOKIE = '__Host-rg_session';

function sessionCookieName(https: boolean): string {
  return https ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/**
 * The session secret a browser sent: the cookie named for the request's scheme, when sent exactly once. Two
 * values mean another host planted one beside ours; neither is trusted (the caller is treated as logged out).
 */
export function sessionFromCookies(cookieHeader: string | null, https: boolean): string | null {
  return singleCookie(cookieHeader, sessionCookieName(https));
}
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

export async function createSession(deps: Deps, userId: string, sourceIp: string | null): Promise<string> {
  const token = generateToken('rgs');
  await deps.db.insert(tables.sessions).values({
    id: await sha256Hex(token),
    user_id: userId,
    expires_at: Date.now() + SESSION_TTL_MS,
    source_ip: sourceIp,
  });
  return token;
}

export type ApiTokenRow = typeof tables.apiTokens.$inferSelect;

/** Creates an API token (`rgt_…`, stored as its SHA-256); the secret is returned to the caller once. */
export async function createApiToken(
  deps: Deps,
  userId: string,
  name: string,
  expiresInDays?: number,
  scopes: TokenScope[] | null = null,
): Promise<{ row: ApiTokenRow; token: string }> {
  const token = generateToken('rgt');
  const row: ApiTokenRow = {
    id: newId('tok'),
    user_id: userId,
    name,
    token_hash: await sha256Hex(token),
    prefix: token.slice(0, 10),
    expires_at: expiresInDays ? Date.now() + expiresInDays * 86_400_000 : null,
    created_at: Date.now(),
    last_used_at: null,
    scopes,
  };
  await deps.db.insert(tables.apiTokens).values(row);
  return { row, token };
}

export async function deleteSession(deps: Deps, token: string): Promise<void> {
  await deps.db.delete(tables.sessions).where(eq(tables.sessions.id, await sha256Hex(token)));
}

/** Resolves a bearer secret (session `rgs_…` or API token `rgt_…`) to its user; null when unknown or expired. */
export async function resolveSecret(deps: Deps, secret: string): Promise<AuthUser | null> {
  if (secret.length > 200) return null;
  const hash = await sha256Hex(secret);
  const now = Date.now();
  if (secret.startsWith('rgs_')) {
    const rows = await deps.db
      .select({ u: tables.users, s: tables.sessions })
      .from(tables.sessions)
      .innerJoin(tables.users, eq(tables.users.id, tables.sessions.user_id))
      .where(and(eq(tables.sessions.id, hash), gt(tables.sessions.expires_at, now)));
    const r = rows[0];
    return r
      ? { id: r.u.id, email: r.u.email, role: r.u.role, via: 'session', credentialId: r.s.id, scopes: null }
      : null;
  }
  if (secret.startsWith('rgt_')) {
    const rows = await deps.db
      .select({ u: tables.users, t: tables.apiTokens })
      .from(tables.apiTokens)
      .innerJoin(tables.users, eq(tables.users.id, tables.apiTokens.user_id))
      .where(
        and(
          eq(tables.apiTokens.token_hash, hash),
          or(isNull(tables.apiTokens.expires_at), gt(tables.apiTokens.expires_at, now)),
        ),
      );
    const r = rows[0];
    if (!r) return null;
    await deps.db.update(tables.apiTokens).set({ last_used_at: now }).where(eq(tables.apiTokens.id, r.t.id));
    return {
      id: r.u.id,
      email: r.u.email,
      role: r.u.role,
      via: 'token',
      credentialId: r.t.id,
      scopes: (r.t.scopes as TokenScope[] | null) ?? null,
    };
  }
  return null;
}

const WINDOW_S = 15 * 60;
const LIMITS = { address: 30, addressEmail: 10 };

/**
 * Login attempts count per source (an IPv4 address or an IPv6 /64) and per source and email, never per email alone:
 * an attacker who knows someone's email must not be able to keep its owner out (the audit trail still shows them).
 */
async function loginRateKeys(ip: string, email: string): Promise<{ address: string; addressEmail: string }> {
  const bucket = addressBucket(ip);
  return {
    address: redisKeys.loginRateBySource(bucket),
    addressEmail: redisKeys.loginRateBySourceEmail((await sha256Hex(`${bucket} ${email}`)).slice(0, 32)),
  };
}

/** Counts a login attempt per source and per (source, email); throws 429 `rate_limited` past either limit. */
export async function checkLoginRate(deps: Deps, ip: string, email: string): Promise<void> {
  const keys = await loginRateKeys(ip, email);
  const p = deps.redis.pipeline();
  p.incr(keys.address);
  p.expire(keys.address, WINDOW_S, 'NX');
  p.incr(keys.addressEmail);
  p.expire(keys.addressEmail, WINDOW_S, 'NX');
  const [addressCount, , addressEmailCount] = (await p.exec()) as [number, number, number, number];
  if (addressCount > LIMITS.address || addressEmailCount > LIMITS.addressEmail) {
    throw new ApiError(429, 'rate_limited', 'too many login attempts from your address; try again in 15 minutes');
  }
}

/** A successful login forgets that source's failures for that email. */
export async function clearEmailRate(deps: Deps, ip: string, email: string): Promise<void> {
  await deps.redis.del((await loginRateKeys(ip, email)).addressEmail);
}
