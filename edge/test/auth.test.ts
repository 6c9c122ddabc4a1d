// Accounts: register, login (cookie), logout, API tokens, rate limits, and what a renter may not see.
import { describe, expect, it } from 'vitest';
import { endpoints } from '../src/lib/api.ts';
import { buildApp } from '../src/app.ts';
import { TestAgent, admin, call, createHost, json, physicalEnv, registerUser, unique } from './helpers.ts';

describe('accounts', () => {
  it('register → login with a session cookie → me → logout ends the session', async () => {
    const email = `${unique('a')}@Example.test`;
    const reg = await json<{ token: string; user: { email: string; role: string } }>('/api/v1/auth/register', {
      body: { email, password: 'hunter2hunter2' },
    });
    expect(reg.status).toBe(201);
    expect(reg.body.user).toMatchObject({ email: email.toLowerCase(), role: 'user' });
    expect((await json('/api/v1/auth/register', { body: { email, password: 'hunter2hunter2' } })).status).toBe(409);

    const login = await call('/api/v1/auth/login', { body: { email, password: 'hunter2hunter2' } });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^rg_session=rgs_[A-Za-z0-9]+;/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const { token } = (await login.json()) as { token: string };
    const session = cookie.split(';')[0]!;

    const me = await json<{ user: { email: string } }>('/api/v1/me', { headers: { cookie: session } });
    expect(me.body.user.email).toBe(email.toLowerCase());
    expect((await json('/api/v1/me', { token })).status).toBe(200);

    expect((await call('/api/v1/auth/logout', { method: 'POST', token })).status).toBe(204);
    expect((await json('/api/v1/me', { token })).status).toBe(401);
  });

  it('wrong password is 401 and audited; 10 tries lock that address out for that email, never the owner elsewhere', async () => {
    const user = await registerUser();
    const attacker = { 'cf-connecting-ip': '198.51.100.9' };
    const bad = await json<{ error: { code: string } }>('/api/v1/auth/login', {
      body: { email: user.email, password: 'wrong-password' },
      headers: attacker,
    });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('invalid_credentials');
    const unknown = await json<{ error: { code: string } }>('/api/v1/auth/login', {
      body: { email: `${unique('n')}@example.test`, password: 'whatever1' },
    });
    expect(unknown.body.error.code).toBe('invalid_credentials');
    for (let i = 0; i < 9; i++)
      await json('/api/v1/auth/login', { body: { email: user.email, password: 'wrong-password' }, headers: attacker });
    const locked = await json<{ error: { code: string } }>('/api/v1/auth/login', {
      body: { email: user.email, password: 'correct horse battery' },
      headers: attacker,
    });
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('rate_limited');
    // Another address of the same IPv6 /64 counts as the same source.
    const v6 = (last: string) => ({ 'cf-connecting-ip': `2001:db8:77:1::${last}` });
    for (let i = 0; i < 10; i++)
      await json('/api/v1/auth/login', { body: { email: user.email, password: 'wrong-password' }, headers: v6('a') });
    expect(
      (
        await json('/api/v1/auth/login', {
          body: { email: user.email, password: 'correct horse battery' },
          headers: v6('b'),
        })
      ).status,
    ).toBe(429);
    // The owner, from anywhere else, logs in.
    const owner = await json('/api/v1/auth/login', {
      body: { email: user.email, password: 'correct horse battery' },
      headers: { 'cf-connecting-ip': '203.0.113.50' },
    });
    expect(owner.status).toBe(200);
    const events = await json<{ items: { event: string; status: string; source_ip: string }[] }>(
      '/api/v1/audit-events?event=login&limit=100',
      { token: user.token },
    );
    expect(events.body.items.filter((e) => e.status === 'failure' && e.source_ip === '198.51.100.9').length).toBe(10);
  });

  it('limits login attempts per source IP', async () => {
    const ip = '198.51.100.77';
    let last = 0;
    for (let i = 0; i < 31; i++)
      last = (
        await call('/api/v1/auth/login', {
          body: { email: `${unique('ip')}@example.test`, password: 'nopenope1' },
          headers: { 'cf-connecting-ip': ip },
        })
      ).status;
    expect(last).toBe(429);
  });

  it('API tokens: created once, used as Bearer, listed without the secret, revoked', async () => {
    const user = await registerUser();
    const created = await json<{ id: string; token: string; prefix: string }>('/api/v1/tokens', {
      token: user.token,
      body: { name: 'ci' },
    });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^rgt_/);
    expect((await json('/api/v1/me', { token: created.body.token })).status).toBe(200);
    const list = await json<{ items: { id: string; last_used_at: string | null }[] }>('/api/v1/tokens', {
      token: user.token,
    });
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    expect(list.body.items[0]!.last_used_at).not.toBeNull();
    const other = await registerUser();
    expect((await call(`/api/v1/tokens/${created.body.id}`, { method: 'DELETE', token: other.token })).status).toBe(
      404,
    );
    expect((await call(`/api/v1/tokens/${created.body.id}`, { method: 'DELETE', token: user.token })).status).toBe(204);
    expect((await json('/api/v1/me', { token: created.body.token })).status).toBe(401);
  });

  it('rejects requests without credentials', async () => {
    expect((await json('/api/v1/environments')).status).toBe(401);
    expect((await json('/api/v1/environments', { token: 'rgs_forged' })).status).toBe(401);
  });
});

describe('renters only see their own things', () => {
  it("renter B gets 404 for renter A's environment, its access info and its metrics", async () => {
    const host = await createHost();
    const agent = await TestAgent.connect(host.token);
    await agent.ready();
    const [a, b] = [await registerUser(), await registerUser()];
    const id = await physicalEnv(host.id, a);
    for (const path of [
      `/api/v1/environments/${id}`,
      `/api/v1/environments/${id}/access`,
      `/api/v1/environments/${id}/metrics`,
      `/api/v1/environments/${id}/recordings`,
    ]) {
      expect((await json(path, { token: a.token })).status, path).toBe(200);
      const r = await json<{ error: { code: string } }>(path, { token: b.token });
      expect(r.status, path).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
    for (const action of ['stop', 'start', 'restart', 'rotate-password']) {
      expect((await json(`/api/v1/environments/${id}/${action}`, { method: 'POST', token: b.token })).status).toBe(404);
    }
    expect((await json(`/api/v1/environments/${id}`, { method: 'DELETE', token: b.token })).status).toBe(404);
    const list = await json<{ items: { id: string }[] }>('/api/v1/environments', { token: b.token });
    expect(list.body.items.map((e) => e.id)).not.toContain(id);
    const audit = await json<{ items: { environment_id: string | null }[] }>('/api/v1/audit-events?limit=500', {
      token: b.token,
    });
    expect(audit.body.items.some((e) => e.environment_id === id)).toBe(false);
    // Admins manage but do not read renters' passwords.
    expect((await json(`/api/v1/environments/${id}`, { token: await admin() })).status).toBe(200);
    expect((await json(`/api/v1/environments/${id}/access`, { token: await admin() })).status).toBe(403);
    agent.close();
  });

  it('renters get 403 on every admin route', async () => {
    buildApp();
    const user = await registerUser();
    const adminRoutes = endpoints.filter((r) => r.auth === 'admin');
    expect(adminRoutes.length).toBeGreaterThanOrEqual(12);
    for (const r of adminRoutes) {
      const path = r.path.replace(/:id/g, 'xyz');
      const res = await json<{ error: { code: string } }>(path, {
        method: r.method.toUpperCase(),
        token: user.token,
        ...(r.body ? { body: {} } : {}),
      });
      expect(res.status, `${r.method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
  });
});
