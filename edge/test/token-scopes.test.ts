// Scoped API tokens as their holders meet them: a read-only token reads but cannot create, scopes never exceed the
// creator's, admin scope is for admins, and last use is recorded.
import { describe, expect, it } from 'vitest';
import { admin, json, registerUser } from './helpers.ts';

type Created = { token: string; id: string; scopes: string[] | null; error: { code: string } };

describe('scoped API tokens', () => {
  it('a read-only token reads but cannot create, and cannot mint a wider token', async () => {
    const user = await registerUser();
    const ro = await json<Created>('/api/v1/tokens', { token: user.token, body: { name: 'ro', scopes: ['read'] } });
    expect(ro.status).toBe(201);
    expect(ro.body.scopes).toEqual(['read']);
    expect((await json('/api/v1/environments', { token: ro.body.token })).status).toBe(200);
    expect((await json('/api/v1/billing/balance', { token: ro.body.token })).status).toBe(200);
    const create = await json<Created>('/api/v1/environments', {
      token: ro.body.token,
      body: { name: 'x', image_id: 1, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
    });
    expect(create.status).toBe(403);
    expect(create.body.error.code).toBe('insufficient_scope');
    const hook = await json<Created>('/api/v1/webhooks', {
      token: ro.body.token,
      body: { url: 'http://127.0.0.1:28003/h', events: ['balance.low'] },
    });
    expect(hook.body.error.code).toBe('insufficient_scope');
    const wider = await json<Created>('/api/v1/tokens', {
      token: ro.body.token,
      body: { name: 'wider', scopes: ['environments'] },
    });
    expect(wider.status).toBe(403);
    expect(wider.body.error.code).toBe('scope_not_allowed');
    const same = await json<Created>('/api/v1/tokens', { token: ro.body.token, body: { name: 'same' } });
    expect(same.body.scopes).toEqual(['read']);
    const list = await json<{ items: { id: string; scopes: string[] | null; last_used_at: string | null }[] }>(
      '/api/v1/tokens',
      { token: user.token },
    );
    expect(list.body.items.find((t) => t.id === ro.body.id)).toMatchObject({
      scopes: ['read'],
      last_used_at: expect.any(String),
    });
  }, 30_000);

  it("admin scope is for admins: an admin's read or billing token cannot use admin routes, an admin-scoped one can", async () => {
    const user = await registerUser();
    const adminScope = await json<Created>('/api/v1/tokens', {
      token: user.token,
      body: { name: 'a', scopes: ['admin'] },
    });
    expect(adminScope.status).toBe(403);
    expect(adminScope.body.error.code).toBe('scope_not_allowed');
    const envs = await json<Created>('/api/v1/tokens', {
      token: user.token,
      body: { name: 'e', scopes: ['environments'] },
    });
    const del = await json<Created>(`/api/v1/tokens/${envs.body.id}`, { method: 'DELETE', token: envs.body.token });
    expect(del.status).toBe(204);

    const adminRo = await json<Created>('/api/v1/tokens', {
      token: await admin(),
      body: { name: 'ar', scopes: ['read'] },
    });
    const hosts = await json<Created>('/api/v1/admin/hosts', { token: adminRo.body.token });
    expect(hosts.status).toBe(403);
    expect(hosts.body.error.code).toBe('insufficient_scope');
    const adminFull = await json<Created>('/api/v1/tokens', {
      token: await admin(),
      body: { name: 'af', scopes: ['admin'] },
    });
    expect((await json('/api/v1/admin/hosts', { token: adminFull.body.token })).status).toBe(200);
    const billing = await json<Created>('/api/v1/tokens', {
      token: await admin(),
      body: { name: 'ab', scopes: ['billing'] },
    });
    const credit = await json<Created>(`/api/v1/admin/accounts/${user.id}/credits`, {
      token: billing.body.token,
      body: { amount: 1 },
    });
    expect(credit.body.error.code).toBe('insufficient_scope');
  }, 30_000);
});
