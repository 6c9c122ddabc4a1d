// Which changes queue which webhook events: host.offline reaches admins' webhooks only, a renter cannot subscribe to it.
import { describe, expect, it } from 'vitest';
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
