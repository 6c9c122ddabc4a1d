// /auth/* and /me, /tokens: registration, login with a session cookie, logout, API tokens.
import {
  ApiToken,
  CreateTokenRequest,
  CreatedToken,
  LoginRequest,
  LoginResponse,
  RegisterRequest,
  User,
  tables,
  type TokenScope,
} from '@remotegpu/schema';
import { and, desc, eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import { grantSignupCredit } from '../billing/service.ts';
import { scopesForNewToken } from '../tokens/scopes.ts';
import { ApiError, conflict, notFound } from '../errors.ts';
import { endpoint, type AppEnv, type Ctx } from '../lib/api.ts';
import { newId } from '../lib/ids.ts';
import { clientIp, isHttps } from '../lib/request.ts';
import { iso, isoReq } from '../lib/time.ts';
import { hashPassword, verifyPassword } from '../platform/crypto.ts';
import {
  SESSION_COOKIE,
  SESSION_TTL_MS,
  checkLoginRate,
  clearEmailRate,
  createApiToken,
  createSession,
  deleteSession,
} from './service.ts';

type UserRow = typeof tables.users.$inferSelect;
export const userJson = (u: UserRow) => ({ id: u.id, email: u.email, role: u.role, created_at: isoReq(u.created_at) });

/** Host-only (no Domain): app hosts never receive the console's session; apps open with one-use links instead. */
function startSession(c: Ctx, token: string): void {
  const https = isHttps(c);
  // With prefix 'host' Hono names it `__Host-rg_session` (sessionCookieName) and leaves out Domain.
  setCookie(c, SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: https,
    maxAge: SESSION_TTL_MS / 1000,
    ...(https ? { prefix: 'host' as const } : {}),
  });
}

export function registerAuthEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/auth/register',
      summary: 'Create an account',
      tag: 'auth',
      auth: 'none',
      body: RegisterRequest,
      response: LoginResponse,
      status: 201,
    },
    async (c, { body }) => {
      const deps = c.get('deps');
      if (!deps.config.allowRegister) throw new ApiError(403, 'registration_disabled', 'registration is turned off');
      const existing = await deps.db
        .select({ id: tables.users.id })
        .from(tables.users)
        .where(eq(tables.users.email, body.email));
      if (existing.length) throw conflict('email_taken', 'an account with this email exists');
      const user = {
        id: newId('usr'),
        email: body.email,
        password_hash: await hashPassword(body.password),
        role: 'user' as const,
      };
      try {
        await deps.db.insert(tables.users).values(user);
      } catch {
        throw conflict('email_taken', 'an account with this email exists');
      }
      const [row] = await deps.db.select().from(tables.users).where(eq(tables.users.id, user.id));
      await grantSignupCredit(deps, user.id);
      const token = await createSession(deps, user.id, clientIp(c));
      startSession(c, token);
      await recordAudit(deps, {
        event: 'register',
        status: 'success',
        user_id: user.id,
        actor_id: user.id,
        source_ip: clientIp(c),
        username: body.email,
      });
      return c.json({ token, user: userJson(row!) }, 201);
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/auth/login',
      summary: 'Log in; returns a token and sets the session cookie',
      tag: 'auth',
      auth: 'none',
      body: LoginRequest,
      response: LoginResponse,
    },
    async (c, { body }) => {
      const deps = c.get('deps');
      const ip = clientIp(c);
      await checkLoginRate(deps, ip, body.email);
      const [row] = await deps.db.select().from(tables.users).where(eq(tables.users.email, body.email));
      const ok = await verifyPassword(body.password, row?.password_hash ?? null);
      if (!row || !ok) {
        await recordAudit(deps, {
          event: 'login',
          status: 'failure',
          user_id: row?.id ?? null,
          source_ip: ip,
          username: body.email,
        });
        throw new ApiError(401, 'invalid_credentials', 'wrong email or password');
      }
      await clearEmailRate(deps, ip, body.email);
      const token = await createSession(deps, row.id, ip);
      startSession(c, token);
      await recordAudit(deps, {
        event: 'login',
        status: 'success',
        user_id: row.id,
        actor_id: row.id,
        source_ip: ip,
        username: body.email,
      });
      return c.json({ token, user: userJson(row) });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/auth/logout',
      summary: 'End this session',
      tag: 'auth',
      auth: 'user',
      scope: 'read',
    },
    async (c, { user }) => {
      const deps = c.get('deps');
      if (user.via === 'session')
        await deps.db.delete(tables.sessions).where(eq(tables.sessions.id, user.credentialId));
      const bearer = c.req.header('authorization')?.replace(/^Bearer\s+/i, '');
      if (bearer?.startsWith('rgs_')) await deleteSession(deps, bearer);
      const https = isHttps(c);
      deleteCookie(c, SESSION_COOKIE, { path: '/', secure: https, ...(https ? { prefix: 'host' as const } : {}) });
      return c.body(null, 204);
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/me',
      summary: 'The current user',
      tag: 'auth',
      auth: 'user',
      response: z.object({ user: User }),
    },
    async (c, { user }) => {
      const [row] = await c.get('deps').db.select().from(tables.users).where(eq(tables.users.id, user.id));
      return c.json({ user: userJson(row!) });
    },
  );

  const tokenJson = (t: typeof tables.apiTokens.$inferSelect) => ({
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    created_at: isoReq(t.created_at),
    last_used_at: iso(t.last_used_at),
    expires_at: iso(t.expires_at),
    scopes: (t.scopes as TokenScope[] | null) ?? null,
  });

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/tokens',
      summary: 'Your API tokens',
      tag: 'auth',
      auth: 'user',
      response: z.object({ items: z.array(ApiToken) }),
    },
    async (c, { user }) => {
      const rows = await c
        .get('deps')
        .db.select()
        .from(tables.apiTokens)
        .where(eq(tables.apiTokens.user_id, user.id))
        .orderBy(desc(tables.apiTokens.created_at));
      return c.json({ items: rows.map(tokenJson) });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/tokens',
      summary: 'Create an API token (shown once), optionally with scopes, never beyond your own',
      tag: 'auth',
      auth: 'user',
      // Any token may mint a narrower one of its own scopes (checked below).
      scope: 'read',
      body: CreateTokenRequest,
      response: CreatedToken,
      status: 201,
    },
    async (c, { body, user }) => {
      const deps = c.get('deps');
      const scopes = scopesForNewToken(user, body.scopes);
      const { row, token } = await createApiToken(deps, user.id, body.name, body.expires_in_days, scopes);
      await recordAudit(deps, {
        event: 'token.create',
        status: 'success',
        user_id: user.id,
        actor_id: user.id,
        source_ip: clientIp(c),
        detail: { token_id: row.id, scopes },
      });
      return c.json({ ...tokenJson(row), token }, 201);
    },
  );

  endpoint(
    app,
    { method: 'delete', path: '/api/v1/tokens/:id', summary: 'Revoke an API token', tag: 'auth', auth: 'user' },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const id = params.id;
      const res = await deps.db
        .delete(tables.apiTokens)
        .where(and(eq(tables.apiTokens.id, id), eq(tables.apiTokens.user_id, user.id)))
        .returning({ id: tables.apiTokens.id });
      if (!res.length) throw notFound('token');
      await recordAudit(deps, {
        event: 'token.revoke',
        status: 'success',
        user_id: user.id,
        actor_id: user.id,
        source_ip: clientIp(c),
        detail: { token_id: id },
      });
      return c.body(null, 204);
    },
  );
}
