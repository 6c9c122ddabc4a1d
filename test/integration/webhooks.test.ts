// Webhooks as a receiver sees them, against the whole local stack: signed with the README's recipe (checked here with
// node:crypto), a test endpoint, and a receiver that keeps failing is retried with backoff and then marked failed.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok } from '../../dev/src/json-api.ts';
import { startStack, type Stack } from '../../dev/src/stack.ts';
import { until } from '../../dev/src/until.ts';

interface Received {
  path: string;
  signature: string;
  event: string;
  body: string;
}

/** The README's recipe: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, within 5 minutes. */
function verify(secret: string, header: string, body: string): boolean {
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=') as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > 300) return false;
  const want = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const got = Buffer.from(parts.v1 ?? '');
  return got.length === want.length && timingSafeEqual(got, want);
}

let stack: Stack;
let receiver: Server;
let base = '';
const received: Received[] = [];

beforeAll(async () => {
  stack = await startStack({
    vars: { REMOTEGPU_WEBHOOK_BACKOFF_MS: '200', REMOTEGPU_WEBHOOK_MAX_ATTEMPTS: '3', REMOTEGPU_LOW_BALANCE: '5000' },
  });
  // A receiver on loopback: /ok answers 204, /fail always 500.
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        signature: String(req.headers['remotegpu-signature'] ?? ''),
        event: String(req.headers['remotegpu-event'] ?? ''),
        body,
      });
      res.writeHead(req.url === '/ok' ? 204 : 500).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const addr = receiver.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}, 120_000);

afterAll(async () => {
  receiver?.close();
  await stack?.close();
});

describe('webhooks', () => {
  it('signs deliveries as documented, retries a failing receiver with backoff, then marks it failed', async () => {
    const email = `hooks-${Date.now()}@example.test`;
    const renter = ok(
      'register',
      await stack.api<{ token: string; user: { id: string } }>('/api/v1/auth/register', {
        body: { email, password: 'renter-password-1' },
      }),
    );
    const good = ok(
      'hook',
      await stack.api<{ id: string; secret: string }>('/api/v1/webhooks', {
        token: renter.token,
        body: { url: `${base}/ok`, events: ['balance.low'] },
      }),
    );
    const bad = ok(
      'hook',
      await stack.api<{ id: string; secret: string }>('/api/v1/webhooks', {
        token: renter.token,
        body: { url: `${base}/fail`, events: ['balance.low'] },
      }),
    );

    // The test endpoint: one signed webhook.test, delivered at once.
    const test = ok(
      'test',
      await stack.api<{ status: string }>(`/api/v1/webhooks/${good.id}/test`, {
        method: 'POST',
        token: renter.token,
      }),
    );
    expect(test.status).toBe('delivered');
    const ping = received.find((r) => r.event === 'webhook.test')!;
    expect(verify(good.secret, ping.signature, ping.body)).toBe(true);
    expect(verify(bad.secret, ping.signature, ping.body)).toBe(false);

    // Spending down to under the low threshold (50.00 here) queues balance.low for both webhooks.
    const balance = ok(
      'balance',
      await stack.api<{ balance: number }>('/api/v1/billing/balance', { token: renter.token }),
    );
    ok(
      'adjust',
      await stack.api(`/api/v1/admin/accounts/${renter.user.id}/credits`, {
        token: await stack.admin(),
        body: { amount: 4000 - balance.balance, kind: 'adjustment', description: 'spend down' },
      }),
    );

    const log = (id: string) =>
      stack.api<{ items: { event: string; status: string; attempts: number; last_status: number | null }[] }>(
        `/api/v1/webhooks/${id}/deliveries`,
        { token: renter.token },
      );
    const failed = await until(
      'the failing receiver marked failed after 3 attempts',
      async () => {
        ok('sweep', await stack.api('/api/v1/admin/billing/sweep', { method: 'POST', token: await stack.admin() }));
        const d = (await log(bad.id)).body.items.find((x) => x.event === 'balance.low');
        return d?.status === 'failed' ? d : null;
      },
      { timeout: 30_000, interval: 150 },
    );
    expect(failed).toMatchObject({ attempts: 3, last_status: 500 });
    expect(received.filter((r) => r.path === '/fail' && r.event === 'balance.low')).toHaveLength(3);

    const delivered = (await log(good.id)).body.items.find((x) => x.event === 'balance.low');
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 1, last_status: 204 });
    const low = received.find((r) => r.path === '/ok' && r.event === 'balance.low')!;
    expect(verify(good.secret, low.signature, low.body)).toBe(true);
    expect(JSON.parse(low.body)).toMatchObject({
      event: 'balance.low',
      data: { account_id: renter.user.id, balance: 4000, currency: 'CNY', threshold: 5000 },
    });
  });
});
