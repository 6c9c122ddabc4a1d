// /webhooks: an account's signed webhooks (secret shown once), their delivery log, and a test delivery.
import {
  CreateWebhookRequest,
  CreatedWebhook,
  TEAM_HEADER,
  Webhook,
  WebhookDelivery,
  generateToken,
  tables,
} from '@remotegpu/schema';
import { and, desc, eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import { selectedAccount } from '../teams/service.ts';
import type { Deps } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { newId } from '../lib/ids.ts';
import { clientIp } from '../lib/request.ts';
import { iso, isoReq } from '../lib/time.ts';
import { encryptSecret } from '../platform/crypto.ts';
import { attempt } from './delivery.ts';

const MAX_HOOKS = 20;
type HookRow = typeof tables.webhooks.$inferSelect;
type DeliveryRow = typeof tables.webhookDeliveries.$inferSelect;

const hookJson = (h: HookRow) => ({
  id: h.id,
  url: h.url,
  events: h.events,
  active: h.active,
  created_at: isoReq(h.created_at),
});

const deliveryJson = (d: DeliveryRow) => ({
  id: d.id,
  event: d.event,
  status: d.status,
  attempts: d.attempts,
  next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
  last_status: d.last_status,
  last_error: d.last_error,
  created_at: isoReq(d.created_at),
  delivered_at: iso(d.delivered_at),
});

async function ownedHook(deps: Deps, account: string, id: string): Promise<HookRow> {
  const [h] = await deps.db
    .select()
    .from(tables.webhooks)
    .where(and(eq(tables.webhooks.id, id), eq(tables.webhooks.account_id, account)));
  if (!h) throw notFound('webhook');
  return h;
}

export function registerWebhookEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/webhooks',
      summary: "Your account's webhooks",
      tag: 'webhooks',
      auth: 'user',
      response: z.object({ items: z.array(Webhook) }),
    },
    async (c, { user }) => {
      const account = await selectedAccount(c.get('deps'), user, c.req.header(TEAM_HEADER));
      const rows = await c
        .get('deps')
        .db.select()
        .from(tables.webhooks)
        .where(eq(tables.webhooks.account_id, account))
        .orderBy(desc(tables.webhooks.created_at));
      return c.json({ items: rows.map(hookJson) });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/webhooks',
      summary: 'Add a webhook; its signing secret (whsec_...) is shown once',
      tag: 'webhooks',
      auth: 'user',
      body: CreateWebhookRequest,
      response: CreatedWebhook,
      status: 201,
    },
    async (c, { user, body }) => {
      const deps = c.get('deps');
      const account = await selectedAccount(deps, user, c.req.header(TEAM_HEADER));
      if (body.events.includes('host.offline') && user.role !== 'admin')
        throw new ApiError(403, 'forbidden', 'host.offline is for administrators');
      const existing = await deps.db
        .select({ id: tables.webhooks.id })
        .from(tables.webhooks)
        .where(eq(tables.webhooks.account_id, account));
      if (existing.length >= MAX_HOOKS) throw new ApiError(409, 'too_many_webhooks', `at most ${MAX_HOOKS} webhooks`);
      const secret = generateToken('whsec');
      const row: HookRow = {
        id: newId('whk'),
        account_id: account,
        url: body.url,
        secret_enc: await encryptSecret(deps.config.secretKey, secret),
        events: [...new Set(body.events)],
        active: true,
        created_at: Date.now(),
      };
      await deps.db.insert(tables.webhooks).values(row);
      await recordAudit(deps, {
        event: 'webhook.create',
        status: 'success',
        user_id: user.id,
        actor_id: user.id,
        source_ip: clientIp(c),
        detail: { webhook_id: row.id, url: row.url, events: row.events },
      });
      return c.json({ ...hookJson(row), secret }, 201);
    },
  );

  endpoint(
    app,
    { method: 'delete', path: '/api/v1/webhooks/:id', summary: 'Remove a webhook', tag: 'webhooks', auth: 'user' },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const hook = await ownedHook(deps, await selectedAccount(deps, user, c.req.header(TEAM_HEADER)), params.id);
      await deps.db.delete(tables.webhooks).where(eq(tables.webhooks.id, hook.id));
      await recordAudit(deps, {
        event: 'webhook.delete',
        status: 'success',
        user_id: user.id,
        actor_id: user.id,
        source_ip: clientIp(c),
        detail: { webhook_id: hook.id },
      });
      return c.body(null, 204);
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/webhooks/:id/deliveries',
      summary: "A webhook's delivery log, newest first",
      tag: 'webhooks',
      auth: 'user',
      response: z.object({ items: z.array(WebhookDelivery) }),
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const hook = await ownedHook(deps, await selectedAccount(deps, user, c.req.header(TEAM_HEADER)), params.id);
      const rows = await deps.db
        .select()
        .from(tables.webhookDeliveries)
        .where(eq(tables.webhookDeliveries.webhook_id, hook.id))
        .orderBy(desc(tables.webhookDeliveries.id))
        .limit(200);
      return c.json({ items: rows.map(deliveryJson) });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/webhooks/:id/test',
      summary: 'Send a signed `webhook.test` event now (retried like any other if it fails)',
      tag: 'webhooks',
      auth: 'user',
      response: WebhookDelivery,
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const hook = await ownedHook(deps, await selectedAccount(deps, user, c.req.header(TEAM_HEADER)), params.id);
      const now = Date.now();
      const payload = JSON.stringify({ event: 'webhook.test', created_at: isoReq(now), data: { webhook_id: hook.id } });
      const [d] = await deps.db
        .insert(tables.webhookDeliveries)
        .values({
          webhook_id: hook.id,
          account_id: hook.account_id,
          event: 'webhook.test',
          payload,
          next_attempt_at: now,
          created_at: now,
        })
        .returning();
      return c.json(deliveryJson(await attempt(deps, d!, now)));
    },
  );
}
