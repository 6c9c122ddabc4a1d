// Monthly machine rentals: the first period paid on allocation, renewal from the balance, warnings 3 days and 1 day
// before an end the balance would not cover, expiry (the machine released), and the prorated refund on release.
import { createClient } from '@libsql/client/web';
import { describe, expect, it } from 'vitest';
import { admin, bindings, createHost, json, physicalEnv, registerUser } from './helpers.ts';

const sql = createClient({ url: bindings.LIBSQL_URL, authToken: bindings.LIBSQL_AUTH_TOKEN });
const PRICE = 10_000; // physicalEnv rents at 100.00 a month
const DAY = 86_400_000;

type Ledger = { items: { kind: string; amount: number; description: string }[] };

async function setBalance(user: { id: string; token: string }, target: number) {
  const now = await json<{ balance: number }>('/api/v1/billing/balance', { token: user.token });
  if (target !== now.body.balance)
    await json(`/api/v1/admin/accounts/${user.id}/credits`, {
      token: await admin(),
      body: { amount: target - now.body.balance, kind: 'adjustment' },
    });
}
const sweep = async () =>
  (
    await json<{ rentals: { renewed: string[]; expired: string[]; warned: string[] } }>('/api/v1/admin/billing/sweep', {
      method: 'POST',
      token: await admin(),
    })
  ).body.rentals;
const endIn = (envId: string, ms: number) =>
  sql.execute({ sql: 'UPDATE rentals SET period_end = ? WHERE environment_id = ?', args: [Date.now() + ms, envId] });

describe('monthly rentals', () => {
  it('charges the first period, renews from the balance, warns 3 days and 1 day before, then expires', async () => {
    const host = await createHost();
    const user = await registerUser();
    const envId = await physicalEnv(host.id, user);
    const first = await json<Ledger>('/api/v1/billing/ledger', { token: user.token });
    expect(first.body.items[0]).toMatchObject({ kind: 'charge', amount: -PRICE });
    const hook = await json<{ id: string }>('/api/v1/webhooks', {
      token: user.token,
      body: { url: 'http://127.0.0.1:28002/hook', events: ['rental.expiring'] },
    });

    await endIn(envId, -1000);
    expect((await sweep()).renewed).toContain(envId);
    const renewed = await json<Ledger>('/api/v1/billing/ledger', { token: user.token });
    expect(renewed.body.items[0]).toMatchObject({
      kind: 'charge',
      amount: -PRICE,
      description: expect.stringContaining('period 2'),
    });

    await setBalance(user, PRICE - 1);
    await endIn(envId, 2 * DAY);
    expect((await sweep()).warned).toContain(envId);
    expect((await sweep()).warned).not.toContain(envId);
    await endIn(envId, 12 * 3_600_000);
    expect((await sweep()).warned).toContain(envId);
    const log = await json<{ items: { event: string }[] }>(`/api/v1/webhooks/${hook.body.id}/deliveries`, {
      token: user.token,
    });
    expect(log.body.items.filter((d) => d.event === 'rental.expiring')).toHaveLength(2);

    await endIn(envId, -1000);
    expect((await sweep()).expired).toContain(envId);
    const rental = await sql.execute({ sql: 'SELECT status FROM rentals WHERE environment_id = ?', args: [envId] });
    expect(rental.rows[0]?.[0]).toBe('expired');
    const env = await json(`/api/v1/environments/${envId}`, { token: user.token });
    expect([404, 200]).toContain(env.status);
    const check = await json<{ ok: boolean }>('/api/v1/admin/billing/reconcile', { token: await admin() });
    expect(check.body.ok).toBe(true);
  }, 30_000);

  it('a release refunds the unused part of the period (REMOTEGPU_PRORATE_RELEASE=true)', async () => {
    const host = await createHost();
    const user = await registerUser();
    const envId = await physicalEnv(host.id, user);
    await sql.execute({
      sql: 'UPDATE rentals SET period_start = ?, period_end = ? WHERE environment_id = ?',
      args: [Date.now() - 15 * DAY, Date.now() + 15 * DAY, envId],
    });
    const del = await json(`/api/v1/environments/${envId}`, { method: 'DELETE', token: user.token });
    expect([200, 202, 204]).toContain(del.status);
    const ledger = await json<Ledger>('/api/v1/billing/ledger', { token: user.token });
    const refund = ledger.body.items.find((e) => e.kind === 'refund');
    expect(refund?.amount).toBeGreaterThanOrEqual(PRICE / 2 - 2);
    expect(refund?.amount).toBeLessThanOrEqual(PRICE / 2);
  }, 30_000);
});
