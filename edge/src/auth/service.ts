// Accounts: users, console sessions and API tokens (secrets stored as SHA-256), login rate limits on Redis.
import { generateToken, tables } from '@remotegpu/schema';
import { and, eq, gt, isNull, or } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { sha256Hex } from '../platform/crypto.ts';

export interface AuthUser {
  id: string;
  email: string;
  role: 'user' | 'admin';
  via: 'session' | 'token';
  credentialId: string;
}

export const SESSION_COOKIE = 'rg_session';
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

export async function createSession(deps: Deps, userId: string, sourceIp: string | null): Promise<string> {
  const token = generateToken('rgs');
  await deps.db.insert(tables.sessions).values({
    id: await sha256Hex(token), user_id: userId, expires_at: Date.now() + SESSION_TTL_MS, source_ip: sourceIp,
  });
  return token;
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
    const rows = await deps.db.select({ u: tables.users, s: tables.sessions }).from(tables.sessions)
      .innerJoin(tables.users, eq(tables.users.id, tables.sessions.user_id))
      .where(and(eq(tables.sessions.id, hash), gt(tables.sessions.expires_at, now)));
    const r = rows[0];
    return r ? { id: r.u.id, email: r.u.email, role: r.u.role, via: 'session', credentialId: r.s.id } : null;
  }
  if (secret.startsWith('rgt_')) {
    const rows = await deps.db.select({ u: tables.users, t: tables.apiTokens }).from(tables.apiTokens)
      .innerJoin(tables.users, eq(tables.users.id, tables.apiTokens.user_id))
      .where(and(eq(tables.apiTokens.token_hash, hash), or(isNull(tables.apiTokens.expires_at), gt(tables.apiTokens.expires_at, now))));
    const r = rows[0];
    if (!r) return null;
    await deps.db.update(tables.apiTokens).set({ last_used_at: now }).where(eq(tables.apiTokens.id, r.t.id));
    return { id: r.u.id, email: r.u.email, role: r.u.role, via: 'token', credentialId: r.t.id };
  }
  return null;
}

const WINDOW_S = 15 * 60;
const LIMITS = { ip: 30, email: 10 };

/** Counts a login attempt per IP and per email; throws 429 past the limit. */
export async function checkLoginRate(deps: Deps, ip: string, email: string): Promise<void> {
  const emailKey = `rl:login:email:${(await sha256Hex(email)).slice(0, 32)}`;
  const ipKey = `rl:login:ip:${ip}`;
  const p = deps.redis.pipeline();
  p.incr(ipKey); p.expire(ipKey, WINDOW_S, 'NX');
  p.incr(emailKey); p.expire(emailKey, WINDOW_S, 'NX');
  const [ipCount, , emailCount] = (await p.exec()) as [number, number, number, number];
  if (ipCount > LIMITS.ip || emailCount > LIMITS.email) {
    throw new ApiError(429, 'rate_limited', 'too many login attempts; try again in 15 minutes');
  }
}

export async function clearEmailRate(deps: Deps, email: string): Promise<void> {
  await deps.redis.del(`rl:login:email:${(await sha256Hex(email)).slice(0, 32)}`);
}
