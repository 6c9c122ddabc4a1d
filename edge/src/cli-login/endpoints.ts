// /cli/device-codes: the CLI's browser login (RFC 8628 style): the CLI asks for codes, the renter approves the user
// code in the console, the CLI's poll gets an API token once. The device code is stored only as its SHA-256.
import {
  addressBucket,
  ApproveDeviceCodeRequest,
  DeviceCode,
  DeviceCodeRequest,
  DeviceToken,
  DeviceTokenRequest,
  generateToken,
  generateUserCode,
  redisKeys,
  tables,
} from '@remotegpu/schema';
import { and, eq, gt, isNotNull, isNull, lt } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import { createApiToken } from '../auth/service.ts';
import { userJson } from '../auth/endpoints.ts';
import { ApiError, conflict, notFound } from '../errors.ts';
import type { Deps } from '../deps.ts';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { clientIp } from '../lib/request.ts';
import { sha256Hex } from '../platform/crypto.ts';

/** How long the renter has to approve (seconds), and how often the CLI polls. */
const DEVICE_CODE_TTL_S = 600;
const POLL_INTERVAL_S = 2;
const t = tables.cliDeviceCodes;
/** Per source (IPv4 address or IPv6 /64) and 15 minutes: logins started, approvals tried (a guessed code is a 404). */
const RATE_WINDOW_S = 15 * 60;
const RATE_LIMITS = { codes: 20, approve: 30 } as const;

async function countOrRefuse(deps: Deps, kind: keyof typeof RATE_LIMITS, ip: string): Promise<void> {
  const key = redisKeys.cliLoginRateBySource(kind, addressBucket(ip));
  const p = deps.redis.pipeline();
  p.incr(key);
  p.expire(key, RATE_WINDOW_S, 'NX');
  const [count] = (await p.exec()) as [number, number];
  if (count > RATE_LIMITS[kind])
    throw new ApiError(429, 'rate_limited', 'too many CLI logins from your address; try again in 15 minutes');
}

export function registerCliLoginEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/cli/device-codes',
      summary: 'Start a CLI login: a device code for the CLI, a user code to approve in the console',
      tag: 'cli',
      auth: 'none',
      body: DeviceCodeRequest,
      response: DeviceCode,
      status: 201,
    },
    async (c, { body }) => {
      const deps = c.get('deps');
      await countOrRefuse(deps, 'codes', clientIp(c));
      const now = Date.now();
      // Expired codes are useless; dropping them here keeps the table small without a scheduled job.
      await deps.db.delete(t).where(lt(t.expires_at, now - 3600_000));
      const deviceCode = generateToken('rgd');
      for (let attempt = 0; ; attempt++) {
        const userCode = generateUserCode();
        const inserted = await deps.db
          .insert(t)
          .values({
            id: await sha256Hex(deviceCode),
            user_code: userCode,
            client_name: body.client_name,
            expires_at: now + DEVICE_CODE_TTL_S * 1000,
            created_at: now,
          })
          .onConflictDoNothing()
          .returning({ id: t.id });
        if (!inserted.length) {
          if (attempt < 3) continue; // a user-code collision (40 bits): draw another
          throw new ApiError(503, 'try_again', 'could not allocate a code; try again');
        }
        const origin = deps.config.publicUrl?.replace(/\/$/, '') ?? new URL(c.req.url).origin;
        return c.json(
          {
            device_code: deviceCode,
            user_code: userCode,
            verification_url: `${origin}/cli/approve?code=${userCode}`,
            interval: POLL_INTERVAL_S,
            expires_in: DEVICE_CODE_TTL_S,
          },
          201,
        );
      }
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/cli/device-codes/approve',
      summary: 'Approve a CLI login shown by its user code (signs that CLI in as you)',
      tag: 'cli',
      auth: 'user',
      body: ApproveDeviceCodeRequest,
      response: z.object({ client_name: z.string() }),
    },
    async (c, { body, user }) => {
      const deps = c.get('deps');
      await countOrRefuse(deps, 'approve', clientIp(c));
      const now = Date.now();
      const [row] = await deps.db
        .update(t)
        .set({ user_id: user.id, approved_at: now })
        .where(and(eq(t.user_code, body.user_code), isNull(t.approved_at), gt(t.expires_at, now)))
        .returning({ client_name: t.client_name });
      if (!row) {
        const [existing] = await deps.db.select().from(t).where(eq(t.user_code, body.user_code));
        if (existing && existing.expires_at > now) throw conflict('already_approved', 'this code was already used');
        throw notFound('code (or it expired)');
      }
      await recordAudit(deps, {
        event: 'cli.approve',
        status: 'success',
        user_id: user.id,
        actor_id: user.id,
        source_ip: clientIp(c),
        detail: { client_name: row.client_name },
      });
      return c.json({ client_name: row.client_name });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/cli/device-codes/token',
      summary: "The CLI's poll: 428 authorization_pending until approved, then an API token once",
      tag: 'cli',
      auth: 'none',
      body: DeviceTokenRequest,
      response: DeviceToken,
    },
    async (c, { body }) => {
      const deps = c.get('deps');
      const id = await sha256Hex(body.device_code);
      const now = Date.now();
      // One conditional update is the single-use lock: two polls cannot both consume the same approval.
      const [row] = await deps.db
        .update(t)
        .set({ consumed_at: now })
        .where(and(eq(t.id, id), isNotNull(t.approved_at), isNull(t.consumed_at), gt(t.expires_at, now)))
        .returning();
      if (!row) {
        const [existing] = await deps.db.select().from(t).where(eq(t.id, id));
        if (!existing || existing.consumed_at !== null)
          throw new ApiError(400, 'invalid_grant', 'unknown or already used device code');
        if (existing.expires_at <= now) throw new ApiError(410, 'expired_token', 'the code expired; log in again');
        throw new ApiError(428, 'authorization_pending', 'waiting for the code to be approved in the console');
      }
      const [user] = await deps.db
        .select()
        .from(tables.users)
        .where(eq(tables.users.id, row.user_id ?? ''));
      if (!user) throw new ApiError(400, 'invalid_grant', 'the approving account is gone');
      const name = `cli on ${row.client_name}`;
      const { row: token, token: secret } = await createApiToken(deps, user.id, name);
      await recordAudit(deps, {
        event: 'token.create',
        status: 'success',
        user_id: user.id,
        actor_id: user.id,
        source_ip: clientIp(c),
        detail: { token_id: token.id, via: 'cli_device_code' },
      });
      return c.json({ token: secret, token_name: name, user: userJson(user) });
    },
  );
}
