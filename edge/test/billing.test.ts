// Money as a renter and an operator see it: balance, ledger (JSON and CSV), admin credits, the signed payment hook.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { admin, call, json, registerUser, unique } from './helpers.ts';

const HOOK_SECRET = 'payment-hook-secret-for-tests';
const SIGNUP = 1_000_000_000;

function signed(body: string, secret = HOOK_SECRET, at = Date.now()) {
  const t = Math.floor(at / 1000);
  return { 'remotegpu-signature': `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}` };
}

describe('balance and ledger', () => {
  it('a new renter gets the sign-up credit; an admin credit posts once per key and shows in the ledger and CSV', async () => {
    const user = await registerUser();
    const bal = await json<{ balance: number; currency: string; minor_digits: number }>('/api/v1/billing/balance', {
      token: user.token,
    });
    expect(bal.body).toMatchObject({ balance: SIGNUP, currency: 'CNY', minor_digits: 2 });

    const key = unique('k');
    const body = { amount: 12345, description: '=cmd|calc', idempotency_key: key };
    const first = await json<{ balance: number; duplicate: boolean }>(`/api/v1/admin/accounts/${user.id}/credits`, {
      token: await admin(),
      body,
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ balance: SIGNUP + 12345, duplicate: false });
    const again = await json<{ balance: number; duplicate: boolean }>(`/api/v1/admin/accounts/${user.id}/credits`, {
      token: await admin(),
      body,
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ balance: SIGNUP + 12345, duplicate: true });

    const ledger = await json<{ items: { kind: string; amount: number; balance_after: number }[] }>(
      '/api/v1/billing/ledger',
      { token: user.token },
    );
    expect(ledger.body.items.map((e) => [e.kind, e.amount, e.balance_after])).toEqual([
      ['credit', 12345, SIGNUP + 12345],
      ['credit', SIGNUP, SIGNUP],
    ]);
    const csv = await call('/api/v1/billing/ledger?format=csv', { token: user.token });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('id,created_at,kind,amount,balance_after,currency,environment_id,description');
    expect(lines[1]).toContain('"credit","123.45","10000123.45","CNY","","\'=cmd|calc"');

    const other = await registerUser();
    const mine = await json<{ items: unknown[] }>('/api/v1/billing/ledger', { token: other.token });
    expect(mine.body.items).toHaveLength(1);
    const denied = await json<{ error: { code: string } }>(`/api/v1/admin/accounts/${other.id}/credits`, {
      token: user.token,
      body: { amount: 1 },
    });
    expect(denied.status).toBe(403);
    const bad = await json<{ error: { code: string } }>(`/api/v1/admin/accounts/${user.id}/credits`, {
      token: await admin(),
      body: { amount: 1.5 },
    });
    expect(bad.status).toBe(422);
    const negativeCredit = await json<{ error: { code: string } }>(`/api/v1/admin/accounts/${user.id}/credits`, {
      token: await admin(),
      body: { amount: -5, kind: 'credit' },
    });
    expect(negativeCredit.body.error.code).toBe('invalid_amount');

    const check = await json<{ ok: boolean; mismatched: unknown[] }>('/api/v1/admin/billing/reconcile', {
      token: await admin(),
    });
    expect(check.body).toMatchObject({ ok: true, mismatched: [] });
  }, 30_000);

  it('the payment hook credits only with a valid signature, once per payment id', async () => {
    const user = await registerUser();
    const payment = unique('pay');
    const body = JSON.stringify({ account_id: user.id, amount: 5000, payment_id: payment });
    const unsigned = await json<{ error: { code: string } }>('/api/v1/billing/payment-hook', { raw: body });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error.code).toBe('invalid_signature');
    const wrongKey = await json('/api/v1/billing/payment-hook', {
      raw: body,
      headers: signed(body, 'not-the-secret-at-all'),
    });
    expect(wrongKey.status).toBe(401);
    const stale = await json('/api/v1/billing/payment-hook', {
      raw: body,
      headers: signed(body, HOOK_SECRET, Date.now() - 600_000),
    });
    expect(stale.status).toBe(401);
    const ok = await json<{ balance: number }>('/api/v1/billing/payment-hook', { raw: body, headers: signed(body) });
    expect(ok.status).toBe(201);
    expect(ok.body.balance).toBe(SIGNUP + 5000);
    const replay = await json<{ balance: number; duplicate: boolean }>('/api/v1/billing/payment-hook', {
      raw: body,
      headers: signed(body),
    });
    expect(replay.body).toMatchObject({ balance: SIGNUP + 5000, duplicate: true });
  }, 30_000);
});
