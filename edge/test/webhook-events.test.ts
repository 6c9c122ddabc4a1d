// Which changes queue which webhook events (host.offline reaches admins' webhooks only), and one renter's webhooks and
// ledger are invisible to another on every route.
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { endpoints } from '../src/lib/api.ts';
import { until } from '../../dev/src/until.ts';
import { TestAgent, admin, createHost, json, registerUser } from './helpers.ts';

type Log = { items: { event: string; status: string }[] };

describe('webhook events', () => {
  it("a relay going offline queues host.offline for the admins' webhooks; renters may not subscribe to it", async () => {
    const renter = await registerUser();
    const refused = await json<{ error: { code: string } }>('/api/v1/webhooks', {
      token: renter.token,
      body: { url: 'http://127.0.0.1:28004/h', events: ['host.offline'] },
    });
    expect(refused.status).toBe(403);
    const hook = await json<{ id: string }>('/api/v1/webhooks', {
      token: await admin(),
      body: { url: 'http://127.0.0.1:28004/h', events: ['host.offline'] },
    });
    expect(hook.status).toBe(201);
    const host = await createHost();
    const agent = await TestAgent.connect(host.token);
    await agent.ready();
    agent.close();
    const log = await until(
      'host.offline queued',
      async () => {
        const r = await json<Log>(`/api/v1/webhooks/${hook.body.id}/deliveries`, { token: await admin() });
        return r.body.items.some((d) => d.event === 'host.offline') ? r.body.items : null;
      },
      { timeout: 10_000 },
    );
    expect(log.filter((d) => d.event === 'host.offline').length).toBeGreaterThanOrEqual(1);
    await json(`/api/v1/webhooks/${hook.body.id}`, { method: 'DELETE', token: await admin() });
  }, 30_000);
});

describe('money isolation', () => {
  it("renter B reaches none of renter A's webhooks on any :id route of the registry, and sees only B's ledger", async () => {
    buildApp();
    const [a, b] = [await registerUser(), await registerUser()];
    const hook = await json<{ id: string }>('/api/v1/webhooks', {
      token: a.token,
      body: { url: 'http://127.0.0.1:28005/h', events: ['balance.low'] },
    });
    const routes = endpoints.filter((r) => r.tag === 'webhooks' && r.auth === 'user' && r.path.includes(':id'));
    expect(routes.length).toBeGreaterThanOrEqual(3);
    for (const r of routes) {
      const path = r.path.replace(':id', hook.body.id);
      const res = await json<{ error: { code: string } }>(path, { method: r.method.toUpperCase(), token: b.token });
      expect(res.status, `${r.method} ${path}`).toBe(404);
    }
    const still = await json<{ items: { id: string }[] }>('/api/v1/webhooks', { token: a.token });
    expect(still.body.items.map((h) => h.id)).toContain(hook.body.id);
    const ledgerB = await json<{ items: { description: string }[] }>('/api/v1/billing/ledger', { token: b.token });
    expect(ledgerB.body.items).toHaveLength(1);
    const days = await json<{ items: unknown[] }>('/api/v1/billing/usage-days', { token: b.token });
    expect(days.body.items).toEqual([]);
  }, 30_000);
});
