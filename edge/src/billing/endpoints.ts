// /billing/* (a renter's balance, ledger, CSV, usage by day), the admin's credits and reconcile, the payment hook.
import {
  Balance,
  CreditRequest,
  LedgerEntry,
  PaymentHookRequest,
  TEAM_HEADER,
  UsageDay,
  tables,
} from '@remotegpu/schema';
import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import { ApiError, notFound } from '../errors.ts';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { newId } from '../lib/ids.ts';
import { selectedAccount } from '../teams/service.ts';
import { clientIp } from '../lib/request.ts';
import { verifySignature } from '../webhooks/signature.ts';
import { balanceOf, reconcile } from './ledger.ts';
import { accountOf, adminAccount, ledgerCsv, ledgerJson, postEntry } from './service.ts';

const LedgerQuery = z
  .object({
    before: z.coerce.number().int().optional(),
    limit: z.coerce.number().int().min(1).max(5000).default(100),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();

const DaysQuery = z.object({ days: z.coerce.number().int().min(1).max(366).default(30) }).strict();

export function registerBillingEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/billing/balance',
      summary: "Your account's balance (integer minor units)",
      tag: 'billing',
      auth: 'user',
      response: Balance,
    },
    async (c, { user }) => {
      const deps = c.get('deps');
      const account = await selectedAccount(deps, user, c.req.header(TEAM_HEADER));
      const b = deps.config.billing;
      return c.json({
        account_id: account,
        balance: await balanceOf(deps.database.client, account),
        currency: b.currency,
        minor_digits: b.minorDigits,
        low_balance: b.lowBalance,
      });
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/billing/ledger',
      summary: "Your account's ledger, newest first (?format=csv for a spreadsheet)",
      tag: 'billing',
      auth: 'user',
      query: LedgerQuery,
      response: z.object({ items: z.array(LedgerEntry) }),
    },
    async (c, { user, query }) => {
      const deps = c.get('deps');
      const t = tables.ledgerEntries;
      const where: SQL[] = [eq(t.account_id, await selectedAccount(deps, user, c.req.header(TEAM_HEADER)))];
      if (query.before) where.push(lt(t.id, query.before));
      const rows = await deps.db
        .select()
        .from(t)
        .where(and(...where))
        .orderBy(desc(t.id))
        .limit(query.limit);
      const items = rows.map(ledgerJson);
      if (query.format === 'csv') {
        return c.body(ledgerCsv(items, deps.config.billing.minorDigits), 200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': 'attachment; filename="ledger.csv"',
        });
      }
      return c.json({ items });
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/billing/usage-days',
      summary: 'Charges by environment and UTC day (minor units, positive)',
      tag: 'billing',
      auth: 'user',
      query: DaysQuery,
      response: z.object({ items: z.array(UsageDay) }),
    },
    async (c, { user, query }) => {
      const deps = c.get('deps');
      const since = Date.now() - query.days * 86_400_000;
      const r = await deps.database.client.execute({
        sql: `SELECT environment_id, strftime('%Y-%m-%d', created_at / 1000, 'unixepoch') AS day, -SUM(amount), COUNT(*)
              FROM ledger_entries WHERE account_id = ? AND kind = 'charge' AND created_at >= ?
              GROUP BY environment_id, day ORDER BY day DESC, environment_id`,
        args: [await selectedAccount(deps, user, c.req.header(TEAM_HEADER)), since],
      });
      return c.json({
        items: r.rows.map((row) => ({
          environment_id: row[0] == null ? null : String(row[0]),
          day: String(row[1]),
          amount: Number(row[2]),
          entries: Number(row[3]),
        })),
      });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/admin/accounts/:id/credits',
      summary: "Credit (or refund, adjust) an account's balance (:id a user or a shared team)",
      tag: 'billing',
      auth: 'admin',
      body: CreditRequest,
      response: z.object({ entry: LedgerEntry, balance: z.number().int(), duplicate: z.boolean() }),
      status: 201,
    },
    async (c, { user, params, body }) => {
      const deps = c.get('deps');
      // A shared team is an account too (its environments spend its balance).
      const { account, userId } = await adminAccount(deps, params.id);
      const r = await postEntry(deps, {
        account_id: account,
        kind: body.kind,
        amount: body.amount,
        idempotency_key: `admin:${body.idempotency_key ?? newId('crd')}`,
        description: body.description,
        actor_id: user.id,
      });
      const [entry] = await deps.db.select().from(tables.ledgerEntries).where(eq(tables.ledgerEntries.id, r.entry_id));
      await recordAudit(deps, {
        event: 'billing.credit',
        status: 'success',
        user_id: userId,
        actor_id: user.id,
        source_ip: clientIp(c),
        detail: {
          entry_id: r.entry_id,
          amount: body.amount,
          kind: body.kind,
          duplicate: r.duplicate,
          account_id: account,
        },
      });
      return c.json({ entry: ledgerJson(entry!), balance: r.balance, duplicate: r.duplicate }, r.duplicate ? 200 : 201);
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/admin/billing/reconcile',
      summary: 'Check every stored balance against the sum of its ledger',
      tag: 'billing',
      auth: 'admin',
    },
    async (c) => {
      const all = await reconcile(c.get('deps').database.client);
      const mismatched = all.filter((r) => !r.ok);
      return c.json({ ok: mismatched.length === 0, accounts: all.length, mismatched });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/billing/payment-hook',
      summary: 'Payment provider credit hook (header RemoteGPU-Signature: t=<unix>,v1=<HMAC-SHA256 hex of "t.body">)',
      tag: 'billing',
      auth: 'none',
      body: PaymentHookRequest,
      status: 201,
    },
    async (c, { body }) => {
      const deps = c.get('deps');
      const secret = deps.config.billing.paymentHookSecret;
      if (!secret) throw new ApiError(404, 'not_found', 'the payment hook is not enabled');
      // The body was read (and cached) by endpoint(): the signature covers those exact bytes.
      const raw = await c.req.text();
      if (!(await verifySignature(secret, c.req.header('remotegpu-signature'), raw, Date.now())))
        throw new ApiError(401, 'invalid_signature', 'the RemoteGPU-Signature header does not sign this body');
      const [target] = await deps.db
        .select({ id: tables.users.id })
        .from(tables.users)
        .where(eq(tables.users.id, body.account_id));
      if (!target) throw notFound('account');
      const r = await postEntry(deps, {
        account_id: accountOf(target),
        kind: 'credit',
        amount: body.amount,
        idempotency_key: `payment:${body.payment_id}`,
        description: body.description ?? `payment ${body.payment_id}`,
      });
      return c.json({ entry_id: r.entry_id, balance: r.balance, duplicate: r.duplicate }, r.duplicate ? 200 : 201);
    },
  );
}
