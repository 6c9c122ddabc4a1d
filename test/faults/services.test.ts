// Faults of the edge's services, injected and healed by the test: Redis (the routing cache) killed and flushed,
// the database (the Hrana stand-in) stopped. SSH on known routes never notices; the API answers 503 with a clear
// code where it cannot do without the service, falls back to the database where it can, and heals without a restart.
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../dev/src/until.ts';
import { appGet, appGrant, type Targets } from '../support/app-targets.ts';
import { sshPassword, type PasswordAccess } from '../support/ssh-login.ts';
import { faultRig, type FaultRig } from './support.ts';

type ErrorBody = { error: { code: string; message: string } };

describe('service faults', () => {
  let rig: FaultRig;
  let renter: string;
  let env: { id: string; access: PasswordAccess };
  let appEnv: string;
  let targets: Targets;
  let cookie: string;
  const health = async () => {
    const r = await fetch(`${rig.p.url}/healthz`);
    return { status: r.status, body: (await r.json()) as { status: string; redis: string; database: string } };
  };
  const app = (path = '/hello') =>
    appGet({ edgePort: rig.p.port, envId: appEnv, port: targets.port, path, headers: { cookie } });
  const redis = () => createClient({ url: rig.p.services.redisUrl }).connect();

  beforeAll(async () => {
    rig = await faultRig({ sshPorts: '28500-28599' });
    renter = await rig.p.renter();
    env = await rig.container(renter, 'faults-ssh');
    await until('first login', async () => (await sshPassword(env.access, 'true')).code === 0, { timeout: 30_000 });
    // A loopback "machine" serving an app, rented by the same renter.
    ({ envId: appEnv, targets } = await rig.appBox(renter, '127.0.0.5'));
    cookie = await appGrant({ edgePort: rig.p.port, token: renter, envId: appEnv, port: targets.port });
    await until('the app answers', async () => (await app()).status === 200, { timeout: 20_000 });
  }, 180_000);

  afterAll(async () => {
    await rig?.p.services.redis.start();
    await rig?.p.services.database.start();
    await rig?.p.close();
  }, 60_000);

  it('Redis killed: SSH, the API and apps go on from the database; logins say redis_unavailable; Redis back empty or flushed: the cache rebuilds with what was written meanwhile', async () => {
    await rig.p.services.redis.stop();
    const h = await health();
    expect(h.status).toBe(503);
    expect(h.body).toMatchObject({ status: 'degraded', redis: 'down', database: 'ok' });

    // Known routes live on the relay: logins go on.
    expect((await sshPassword(env.access, 'echo during-redis-outage')).stdout.trim()).toBe('during-redis-outage');
    // Sessions and tokens are in the database: the API goes on.
    const list = await rig.p.api<{ items: { id: string }[] }>('/api/v1/environments', { token: renter });
    expect(list.status).toBe(200);
    expect(list.body.items.map((e) => e.id)).toContain(env.id);
    // Password logins are rate limited through Redis: without it they are refused, never unlimited.
    const login = await rig.p.api<ErrorBody>('/api/v1/auth/login', {
      body: { email: rig.p.adminEmail, password: rig.p.adminPassword },
    });
    expect(login.status).toBe(503);
    expect(login.body.error.code).toBe('redis_unavailable');
    // Apps route from the database: the right target, and sharing set now is honoured at once.
    const during = await app('/hello');
    expect(during.status).toBe(200);
    const shared = await rig.p.api(`/api/v1/environments/${appEnv}/apps/${targets.port}`, {
      method: 'PUT',
      token: renter,
      body: { public: true },
    });
    expect(shared.status).toBe(200);
    expect((await appGet({ edgePort: rig.p.port, envId: appEnv, port: targets.port, path: '/hello' })).status).toBe(
      200,
    );
    // A container created during the outage: the database and its relay have it; Redis gets it when back.
    const late = await rig.container(renter, 'faults-during-redis');
    await until('login to the new one', async () => (await sshPassword(late.access, 'true')).code === 0, {
      timeout: 30_000,
    });

    // Back, empty (no persistence): rebuilt within the check interval, with both environments and the shared port.
    await rig.p.services.redis.start();
    const r = await redis();
    try {
      await until('healthz ok', async () => (await health()).status === 200, { timeout: 15_000 });
      const rebuilt = async () => {
        await rig.p.api('/api/v1/environments', { token: renter }); // any request runs the isolate's check
        return (
          (await r.get(`env:${env.id}:host`)) === rig.hostId &&
          (await r.get(`env:${late.id}:host`)) === rig.hostId &&
          (await r.sMembers(`env:${appEnv}:public_ports`)).includes(String(targets.port))
        );
      };
      await until('the cache rebuilt after the outage', rebuilt, { timeout: 20_000, interval: 300 });
      // Flushed while up: the same.
      await r.flushAll();
      await until('the cache rebuilt after FLUSHALL', rebuilt, { timeout: 20_000, interval: 300 });
      expect(
        (
          await rig.p.api<{ token: string }>('/api/v1/auth/login', {
            body: { email: rig.p.adminEmail, password: rig.p.adminPassword },
          })
        ).status,
      ).toBe(200);
    } finally {
      await r.close();
    }
    await rig.p.api(`/api/v1/environments/${late.id}`, { method: 'DELETE', token: renter });
  }, 120_000);

  it('the database down: 503 database_unavailable, SSH goes on, a create leaves nothing behind; back: works without a restart', async () => {
    const before = (await rig.p.api<{ items: { id: string }[] }>('/api/v1/environments', { token: renter })).body.items;
    await rig.p.services.database.stop();
    const h = await health();
    expect(h.status).toBe(503);
    expect(h.body).toMatchObject({ status: 'degraded', redis: 'ok', database: 'down' });
    const list = await rig.p.api<ErrorBody>('/api/v1/environments', { token: renter });
    expect(list.status).toBe(503);
    expect(list.body.error.code).toBe('database_unavailable');
    const create = await rig.p.api<ErrorBody>('/api/v1/environments', {
      token: renter,
      body: { name: 'faults-during-db', image_id: rig.busybox, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
    });
    expect(create.status).toBe(503);
    expect(create.body.error.code).toBe('database_unavailable');
    expect((await sshPassword(env.access, 'echo during-db-outage')).stdout.trim()).toBe('during-db-outage');
    // Apps: once the isolate's 5 s route cache lapses, a clear 503 (never a guess at the target).
    const appDown = await until(
      'apps answer 503',
      async () => {
        const r = await app();
        return r.status === 503 ? (JSON.parse(r.body.toString()) as ErrorBody) : null;
      },
      { timeout: 15_000, interval: 500 },
    );
    expect(appDown.error.code).toBe('database_unavailable');

    await rig.p.services.database.start();
    await until('healthz ok', async () => (await health()).status === 200, { timeout: 15_000 });
    const after = await rig.p.api<{ items: { id: string; name: string }[] }>('/api/v1/environments', {
      token: renter,
    });
    expect(after.status).toBe(200);
    expect(after.body.items.map((e) => e.id).sort()).toEqual(before.map((e) => e.id).sort());
    expect(after.body.items.find((e) => e.name === 'faults-during-db')).toBeUndefined();
    // And a create now works end to end.
    const again = await rig.container(renter, 'faults-after-db');
    await until('login to it', async () => (await sshPassword(again.access, 'true')).code === 0, {
      timeout: 30_000,
    });
    await rig.p.api(`/api/v1/environments/${again.id}`, { method: 'DELETE', token: renter });
  }, 120_000);
});
