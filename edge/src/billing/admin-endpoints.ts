// Operators' money tools: per-account quotas, an account's money summary, and running the billing sweep now.
import { Quota, QuotaRequest, tables } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { recordAudit } from '../audit/service.ts';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { clientIp } from '../lib/request.ts';
import { balanceOf } from './ledger.ts';
import { adminAccount } from './service.ts';
import { runBillingSweep } from './sweep.ts';

export function registerBillingAdminEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'put',
      path: '/api/v1/admin/accounts/:id/quota',
      summary:
        "Set an account's limits (GPUs held at once, environments at once; null = no limit); :id a user or a shared team",
      tag: 'billing',
      auth: 'admin',
      body: QuotaRequest,
      response: Quota,
    },
    async (c, { user, params, body }) => {
      const deps = c.get('deps');
      const { account, userId } = await adminAccount(deps, params.id);
      const set = { ...body, updated_at: Date.now() };
      await deps.db
        .insert(tables.accountQuotas)
        .values({ account_id: account, ...set })
        .onConflictDoUpdate({ target: tables.accountQuotas.account_id, set });
      const [q] = await deps.db.select().from(tables.accountQuotas).where(eq(tables.accountQuotas.account_id, account));
      await recordAudit(deps, {
        event: 'billing.quota',
        status: 'success',
        user_id: userId,
        actor_id: user.id,
        source_ip: clientIp(c),
        detail: { ...body, account_id: account },
      });
      return c.json({ max_gpus: q?.max_gpus ?? null, max_environments: q?.max_environments ?? null });
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/admin/accounts/:id/billing',
      summary: "An account's balance and quota",
      tag: 'billing',
      auth: 'admin',
    },
    async (c, { params }) => {
      const deps = c.get('deps');
      const { account } = await adminAccount(deps, params.id);
      const [q] = await deps.db.select().from(tables.accountQuotas).where(eq(tables.accountQuotas.account_id, account));
      return c.json({
        account_id: account,
        balance: await balanceOf(deps.database.client, account),
        currency: deps.config.billing.currency,
        quota: { max_gpus: q?.max_gpus ?? null, max_environments: q?.max_environments ?? null },
      });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/admin/billing/sweep',
      summary: 'Run the billing sweep now (the cron runs it every minute): zero-balance stops, rentals, webhooks',
      tag: 'billing',
      auth: 'admin',
    },
    async (c) => c.json(await runBillingSweep(c.get('deps'))),
  );
}
