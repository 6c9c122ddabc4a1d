// Teams as renters meet them: a team's environments are its members' (listed, read, acted on, billed to the team),
// none of another team's on any :id route of the registry, read-only members read but never act, and owners manage
// members. A team's saved images and retained data are the team's; the team header scopes the audit log and usage.
// (The edge project sets REMOTEGPU_REGISTRY and REMOTEGPU_DATA_RETENTION_DAYS for this: vitest.config.ts.)
import { exports as workerExports } from 'cloudflare:workers';
import { CMD, EVENT, MSG } from '@remotegpu/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { endpoints, type AnySpec } from '../src/lib/api.ts';
import { until } from '../../dev/src/until.ts';
import {
  TestAgent,
  addLoopbackMachine,
  admin,
  createHost,
  drainAllHosts,
  json,
  registerUser,
  unique,
} from './helpers.ts';

const worker = (workerExports as unknown as { default: { fetch(req: Request): Promise<Response> } }).default;

type Err = { error: { code: string; message: string } };
type EnvBody = { environment: { id: string; status: string } };
type TeamBody = { team: { id: string; role: string }; members: { user_id: string; email: string; role: string }[] };

let agent: TestAgent;
let imageId: number;
let n = 0;

beforeAll(async () => {
  await drainAllHosts();
  const host = await createHost();
  agent = await TestAgent.connect(host.token, {
    onCommand: async (cmd) => {
      if (cmd.name === CMD.containerCreate || cmd.name === CMD.containerClone) {
        n++;
        return { ok: true, data: { container_id: `t${n}`, ip: `172.31.11.${n}`, host_key: null } };
      }
      if (cmd.name === CMD.containerStop) return { ok: true, data: { state: 'exited' } };
      return { ok: true, data: { state: 'running', ip: '172.31.11.200' } };
    },
  });
  await agent.ready();
  const img = await json<{ image: { id: number } }>('/api/v1/admin/images', {
    token: await admin(),
    body: { name: unique('team-'), docker_ref: 'remotegpu/busybox:latest', hourly_price: 2.5 },
  });
  imageId = img.body.image.id;
});
afterAll(() => agent.close());

const TEAM = 'X-RemoteGPU-Team';

const create = (token: string, teamId?: string) =>
  json<EnvBody & Err>('/api/v1/environments', {
    token,
    headers: teamId ? { [TEAM]: teamId } : {},
    body: { name: unique('t'), image_id: imageId, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
  });

async function team(owner: { token: string }, members: [{ email: string }, string][]): Promise<string> {
  const t = await json<TeamBody>('/api/v1/teams', { token: owner.token, body: { name: unique('team ') } });
  expect(t.status).toBe(201);
  expect(t.body.team.role).toBe('owner');
  for (const [u, role] of members) {
    const r = await json<TeamBody>(`/api/v1/teams/${t.body.team.id}/members`, {
      token: owner.token,
      body: { email: u.email, role },
    });
    expect(r.status).toBe(201);
  }
  return t.body.team.id;
}

async function credit(account: string, amount: number) {
  const r = await json(`/api/v1/admin/accounts/${account}/credits`, {
    token: await admin(),
    body: { amount, kind: 'credit', description: 'team test' },
  });
  expect(r.status).toBe(201);
}

/** A valid request for a route (body and query where it needs them), so that only ownership decides the answer. */
function requestFor(r: AnySpec, envId: string): { path: string; method: string; body?: unknown } {
  const method = r.method.toUpperCase();
  let path = r.path.replace(':id', envId).replace(':port', '8080');
  const bodies: Record<string, unknown> = {
    'POST /api/v1/environments/:id/start': {},
    'POST /api/v1/environments/:id/recreate': { image_id: imageId },
    'POST /api/v1/environments/:id/clone': { name: 'copy' },
    'PUT /api/v1/environments/:id/auto-stop': { idle_stop_minutes: null, scheduled_stop_at: null },
    'POST /api/v1/environments/:id/save-image': { name: 'saved' },
    'PUT /api/v1/environments/:id/apps/:port': { public: true },
    'PATCH /api/v1/environments/:id/apps/:port': { public: true },
    'POST /api/v1/environments/:id/apps/:port/link': {},
  };
  if (r.path.endsWith('/files')) path += '?path=/root/x';
  if (r.path.endsWith('/terminal')) path += '?session=abcdefghijklmnop';
  const key = `${method} ${r.path}`;
  if (r.body && !(key in bodies)) throw new Error(`the test has no body for ${key}: add one`);
  return { path, method, ...(r.body ? { body: bodies[key] } : {}) };
}

const envRoutes = () => endpoints.filter((r) => r.auth === 'user' && r.path.startsWith('/api/v1/environments/:id'));

describe('teams', () => {
  it("a team's environment is billed to the team and seen by its members; team B's is 404 on every :id route", async () => {
    buildApp();
    const [ownerA, memberA, readerA, ownerB] = [
      await registerUser(),
      await registerUser(),
      await registerUser(),
      await registerUser(),
    ];
    const teamA = await team(ownerA, [
      [memberA, 'member'],
      [readerA, 'read_only'],
    ]);
    const teamB = await team(ownerB, []);

    // The team pays: its own balance starts at zero, whatever its owner has.
    const broke = await create(ownerA.token, teamA);
    expect(broke.status).toBe(402);
    expect(broke.body.error.code).toBe('insufficient_balance');
    await credit(teamA, 10_000);
    await credit(teamB, 10_000);
    const envA = (await create(memberA.token, teamA)).body.environment;
    const envB = (await create(ownerB.token, teamB)).body.environment;
    expect([envA.status, envB.status]).toEqual(['running', 'running']);
    const ownA = (await create(ownerA.token)).body.environment; // personal, as before teams

    // Every member of A lists A's environment; nobody in A lists B's or another member's own.
    for (const u of [ownerA, memberA, readerA]) {
      const list = await json<{ items: { id: string }[] }>('/api/v1/environments', { token: u.token });
      const ids = list.body.items.map((e) => e.id);
      expect(ids).toContain(envA.id);
      expect(ids).not.toContain(envB.id);
      if (u !== ownerA) expect(ids).not.toContain(ownA.id);
      expect((await json(`/api/v1/environments/${envA.id}`, { token: u.token })).status).toBe(200);
    }
    expect((await json(`/api/v1/environments/${envA.id}/access`, { token: ownerA.token })).status).toBe(200);

    // A member of A reaches nothing of B's, on every :id route the registry has.
    const routes = envRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(18);
    for (const u of [ownerA, memberA, readerA]) {
      for (const r of routes) {
        const req = requestFor(r, envB.id);
        const res = await json<Err>(req.path, { method: req.method, token: u.token, body: req.body });
        expect(res.status, `${req.method} ${req.path}`).toBe(404);
        expect(res.body.error.code).toBe('not_found');
      }
    }
    // A session recording of A's environment: its team downloads it, B does not.
    agent.send({
      type: MSG.event,
      name: 'recording',
      data: {
        id: unique('rec'),
        environment_id: envA.id,
        username: 'root',
        source_ip: '198.18.0.1',
        started_at: Date.now() - 1000,
        ended_at: Date.now(),
        cast: '{"version":2,"width":80,"height":24}\n',
      },
    });
    const recs = await until(
      'the recording',
      async () => {
        const r = await json<{ items: { id: string }[] }>(`/api/v1/environments/${envA.id}/recordings`, {
          token: readerA.token,
        });
        return r.body.items.length ? r.body.items : null;
      },
      { timeout: 5000 },
    );
    const rec = `/api/v1/recordings/${encodeURIComponent(recs[0]!.id)}`;
    expect((await json(rec, { token: readerA.token })).status).toBe(200);
    expect((await json(rec, { token: ownerB.token })).status).toBe(404);

    // The environment's audit trail is the team's; B's stays B's.
    type Audit = { items: { event: string; environment_id: string | null }[] };
    const trailA = await json<Audit>(`/api/v1/audit-events?environment_id=${envA.id}`, { token: readerA.token });
    expect(trailA.body.items.map((e) => e.event)).toContain('environment.create');
    const trailB = await json<Audit>(`/api/v1/audit-events?environment_id=${envB.id}`, { token: ownerA.token });
    expect(trailB.body.items).toEqual([]);
    const afterB = await json<EnvBody>(`/api/v1/environments/${envB.id}`, { token: ownerB.token });
    expect(afterB.body.environment.status).toBe('running');

    // A read-only member reads A's environment but every change is 403 forbidden_role, and so is the login.
    const writes = routes.filter((r) => r.method !== 'get');
    expect(writes.length).toBeGreaterThanOrEqual(10);
    for (const r of writes) {
      const req = requestFor(r, envA.id);
      const res = await json<Err>(req.path, { method: req.method, token: readerA.token, body: req.body });
      expect(res.status, `${req.method} ${req.path}`).toBe(403);
      expect(res.body.error.code).toBe('forbidden_role');
    }
    const login = await json<Err>(`/api/v1/environments/${envA.id}/access`, { token: readerA.token });
    expect([login.status, login.body.error.code]).toEqual([403, 'forbidden_role']);
    const denied = await create(readerA.token, teamA);
    expect([denied.status, denied.body.error.code]).toEqual([403, 'forbidden_role']);
    // Naming a team you are not in reveals nothing about it.
    expect((await create(memberA.token, teamB)).status).toBe(404);
    const stillA = await json<EnvBody>(`/api/v1/environments/${envA.id}`, { token: ownerA.token });
    expect(stillA.body.environment.status).toBe('running');

    // With the team header, members read the team's balance and ledger; its webhooks are the team's.
    const bal = await json<{ account_id: string; balance: number }>('/api/v1/billing/balance', {
      token: readerA.token,
      headers: { [TEAM]: teamA },
    });
    expect(bal.body.account_id).toBe(teamA);
    expect(bal.body.balance).toBeLessThanOrEqual(10_000);
    const ledger = await json<{ items: { kind: string; amount: number }[] }>('/api/v1/billing/ledger', {
      token: memberA.token,
      headers: { [TEAM]: teamA },
    });
    expect(ledger.body.items).toContainEqual(expect.objectContaining({ kind: 'credit', amount: 10_000 }));
    expect((await json('/api/v1/billing/balance', { token: ownerB.token, headers: { [TEAM]: teamA } })).status).toBe(
      404,
    );
    const hookBody = { url: 'http://127.0.0.1:30001/h', events: ['environment.stopped'] };
    const hook = await json<{ id: string }>('/api/v1/webhooks', {
      token: memberA.token,
      headers: { [TEAM]: teamA },
      body: hookBody,
    });
    expect(hook.status).toBe(201);
    const readerHook = await json<Err>('/api/v1/webhooks', {
      token: readerA.token,
      headers: { [TEAM]: teamA },
      body: hookBody,
    });
    expect([readerHook.status, readerHook.body.error.code]).toEqual([403, 'forbidden_role']);
    const teamHooks = await json<{ items: { id: string }[] }>('/api/v1/webhooks', {
      token: ownerA.token,
      headers: { [TEAM]: teamA },
    });
    expect(teamHooks.body.items.map((h) => h.id)).toEqual([hook.body.id]);
    const ownHooks = await json<{ items: { id: string }[] }>('/api/v1/webhooks', { token: memberA.token });
    expect(ownHooks.body.items).toEqual([]);

    // The keys of the team's owners and members open its environments; a read-only member's do not.
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFr9+iizavZlDdzo/5KuzSzVkG3JgeZGG3iUikPS0AxR';
    expect(
      (await json('/api/v1/ssh-keys', { token: readerA.token, body: { name: 'r', public_key: key } })).status,
    ).toBe(201);
    expect(agent.routes.get(envA.id)?.owner_keys ?? []).toEqual([]);
    expect((await json('/api/v1/ssh-keys', { token: ownerA.token, body: { name: 'o', public_key: key } })).status).toBe(
      201,
    );
    await until('the team owner key on the relay', () => agent.routes.get(envA.id)?.owner_keys.length === 1, {
      timeout: 5000,
    });

    // A team owner (not its creator) opens the environment's private app through a one-use console link.
    const link = await json<{ url: string }>(`/api/v1/environments/${envA.id}/apps/8888/link`, {
      token: ownerA.token,
      body: {},
    });
    expect(link.status).toBe(200);
    const redeemed = await worker.fetch(new Request(link.body.url, { redirect: 'manual' }));
    expect(redeemed.status).toBe(302);
    expect(redeemed.headers.get('set-cookie')).toMatch(/^rg_app=/);

    // A member acts on the team's environment; the team's webhook hears of it.
    const stop = await json<EnvBody>(`/api/v1/environments/${envA.id}/stop`, { method: 'POST', token: memberA.token });
    expect(stop.status).toBe(200);
    const deliveries = await json<{ items: { event: string }[] }>(`/api/v1/webhooks/${hook.body.id}/deliveries`, {
      token: ownerA.token,
      headers: { [TEAM]: teamA },
    });
    expect(deliveries.body.items.map((d) => d.event)).toContain('environment.stopped');

    // A clone of a team's environment stays the team's.
    const clone = await json<EnvBody>(`/api/v1/environments/${envA.id}/clone`, {
      token: memberA.token,
      body: { name: 'copy' },
    });
    expect(clone.status).toBe(201);
    const readerList = await json<{ items: { id: string }[] }>('/api/v1/environments', { token: readerA.token });
    expect(readerList.body.items.map((e) => e.id)).toContain(clone.body.environment.id);
  }, 60_000);

  it("a machine rented with the team header is the team's: its members see it and the team pays the period", async () => {
    const [owner, reader] = [await registerUser(), await registerUser()];
    const id = await team(owner, [[reader, 'read_only']]);
    await credit(id, 20_000);
    const host = await createHost();
    const relay = await TestAgent.connect(host.token);
    await relay.ready();
    const machineId = await addLoopbackMachine(host.id);
    const path = `/api/v1/market/machines/${machineId}/allocate`;
    const refused = await json<Err>(path, { token: reader.token, headers: { [TEAM]: id }, body: {} });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'forbidden_role']);
    const rented = await json<EnvBody>(path, { token: owner.token, headers: { [TEAM]: id }, body: {} });
    expect(rented.status).toBe(201);
    const list = await json<{ items: { id: string }[] }>('/api/v1/environments', { token: reader.token });
    expect(list.body.items.map((e) => e.id)).toEqual([rented.body.environment.id]);
    const bal = await json<{ balance: number }>('/api/v1/billing/balance', {
      token: owner.token,
      headers: { [TEAM]: id },
    });
    expect(bal.body.balance).toBe(10_000); // 20,000 less the first 30-day period of 100.00
    const own = await json<{ balance: number }>('/api/v1/billing/balance', { token: owner.token });
    expect(own.body.balance).toBe(1_000_000_000);
    // Quotas are per team too: one environment at once, and the team has it.
    const q = await json(`/api/v1/admin/accounts/${id}/quota`, {
      method: 'PUT',
      token: await admin(),
      body: { max_environments: 1 },
    });
    expect(q.status).toBe(200);
    const over = await create(owner.token, id);
    expect([over.status, over.body.error.code]).toEqual([403, 'quota_exceeded']);
    expect((await create(owner.token)).status).toBe(201); // their own account has no such quota
    const summary = await json<{ account_id: string; quota: { max_environments: number } }>(
      `/api/v1/admin/accounts/${id}/billing`,
      { token: await admin() },
    );
    expect([summary.body.account_id, summary.body.quota.max_environments]).toEqual([id, 1]);
    relay.close();
  }, 30_000);

  it("a team environment's saved image and retained data are the team's; the header scopes audit events and usage", async () => {
    const [owner, member, reader, outsider] = [
      await registerUser(),
      await registerUser(),
      await registerUser(),
      await registerUser(),
    ];
    const id = await team(owner, [
      [member, 'member'],
      [reader, 'read_only'],
    ]);
    await credit(id, 10_000);
    const env = (await create(member.token, id)).body.environment;
    expect(env.status).toBe('running');
    const mine = (await create(outsider.token)).body.environment; // a stranger's own, with its own audit trail

    // A member saves the team's environment: the image is the team's, its members see and use it, others do not.
    type ImageBody = { image: { id: number; status: string; team_id: string | null } };
    const saved = await json<ImageBody>(`/api/v1/environments/${env.id}/save-image`, {
      token: member.token,
      body: { name: 'team snapshot' },
    });
    expect(saved.status).toBe(202);
    expect(saved.body.image.team_id).toBe(id);
    const imgId = saved.body.image.id;
    agent.send({ type: MSG.event, name: EVENT.imageSaved, data: { image_id: imgId, ok: true, size_bytes: 1234 } });
    await until(
      'the team image ready',
      async () =>
        (await json<ImageBody>(`/api/v1/images/${imgId}`, { token: owner.token })).body.image?.status === 'ready',
      { timeout: 5000 },
    );
    for (const u of [owner, reader]) {
      const list = await json<{ items: { id: number }[] }>('/api/v1/images', { token: u.token });
      expect(list.body.items.map((i) => i.id)).toContain(imgId);
      expect((await json(`/api/v1/images/${imgId}`, { token: u.token })).status).toBe(200);
    }
    const strangers = await json<{ items: { id: number }[] }>('/api/v1/images', { token: outsider.token });
    expect(strangers.body.items.map((i) => i.id)).not.toContain(imgId);
    expect((await json(`/api/v1/images/${imgId}`, { token: outsider.token })).status).toBe(404);
    const fromImage = (token: string, teamId?: string) =>
      json<EnvBody & Err>('/api/v1/environments', {
        token,
        headers: teamId ? { [TEAM]: teamId } : {},
        body: { name: unique('fromimg'), image_id: imgId, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
      });
    const reused = await fromImage(owner.token, id);
    expect(reused.status).toBe(201);
    const refused = await fromImage(outsider.token);
    expect([refused.status, refused.body.error.code]).toEqual([422, 'validation_failed']);
    const readerDelete = await json<Err>(`/api/v1/images/${imgId}`, { method: 'DELETE', token: reader.token });
    expect([readerDelete.status, readerDelete.body.error.code]).toEqual([403, 'forbidden_role']);
    expect((await json(`/api/v1/images/${imgId}`, { method: 'DELETE', token: outsider.token })).status).toBe(404);

    // The header lists the audit events of the team's environments to any member; to others it is 404.
    type Audit = { items: { event: string; environment_id: string | null }[] };
    const trail = await json<Audit>('/api/v1/audit-events', { token: reader.token, headers: { [TEAM]: id } });
    expect(trail.status).toBe(200);
    const envIds = new Set(trail.body.items.map((e) => e.environment_id));
    expect(envIds).toEqual(new Set([env.id, reused.body.environment.id]));
    expect(trail.body.items).toContainEqual(
      expect.objectContaining({ event: 'environment.create', environment_id: env.id }),
    );
    const own = await json<Audit>('/api/v1/audit-events', { token: reader.token });
    expect(own.body.items.map((e) => e.environment_id)).not.toContain(env.id);
    const outsiderTrail = await json<Audit>('/api/v1/audit-events', { token: outsider.token });
    expect(outsiderTrail.body.items.map((e) => e.environment_id)).toContain(mine.id);
    expect((await json('/api/v1/audit-events', { token: outsider.token, headers: { [TEAM]: id } })).status).toBe(404);
    // And the usage of the team's environments.
    const usage = await json<{ items: { environment_id: string }[] }>('/api/v1/usage', {
      token: reader.token,
      headers: { [TEAM]: id },
    });
    expect(new Set(usage.body.items.map((u) => u.environment_id))).toEqual(
      new Set([env.id, reused.body.environment.id]),
    );

    // Deleted, the team's environment leaves the team's data: members list it, read-only ones may not restore it.
    expect([202, 204]).toContain(
      (await json(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: member.token })).status,
    );
    type Retained = { items: { id: string; environment_id: string; team_id: string | null }[] };
    for (const u of [owner, reader]) {
      const vols = await json<Retained>('/api/v1/data-volumes', { token: u.token });
      expect(vols.body.items).toContainEqual(expect.objectContaining({ environment_id: env.id, team_id: id }));
    }
    const kept = (await json<Retained>('/api/v1/data-volumes', { token: owner.token })).body.items.find(
      (v) => v.environment_id === env.id,
    )!;
    const others = await json<Retained>('/api/v1/data-volumes', { token: outsider.token });
    expect(others.body.items.map((v) => v.id)).not.toContain(kept.id);
    const restore = (token: string) =>
      json<EnvBody & Err & { environment: { team_id: string | null } }>(`/api/v1/data-volumes/${kept.id}/restore`, {
        token,
        body: { name: 'restored', cpu_cores: 1, memory_gb: 1 },
      });
    expect((await restore(outsider.token)).status).toBe(404);
    expect((await json(`/api/v1/data-volumes/${kept.id}`, { method: 'DELETE', token: outsider.token })).status).toBe(
      404,
    );
    const byReader = await restore(reader.token);
    expect([byReader.status, byReader.body.error.code]).toEqual([403, 'forbidden_role']);
    // The team owner (not its creator) restores it, into the team.
    const back = await restore(owner.token);
    expect(back.status).toBe(201);
    expect(back.body.environment.team_id).toBe(id);
    const readerList = await json<{ items: { id: string }[] }>('/api/v1/environments', { token: reader.token });
    expect(readerList.body.items.map((e) => e.id)).toContain(back.body.environment.id);
    expect(
      (await json<Retained>('/api/v1/data-volumes', { token: member.token })).body.items.map((v) => v.id),
    ).not.toContain(kept.id);
  }, 60_000);

  it('owners manage members by email; others cannot; a team keeps an owner; inputs are validated', async () => {
    const [owner, member, outsider] = [await registerUser(), await registerUser(), await registerUser()];
    const id = await team(owner, [[member, 'member']]);

    const mine = await json<{ items: { id: string; personal: boolean; role: string }[] }>('/api/v1/teams', {
      token: member.token,
    });
    expect(mine.body.items[0]!.personal).toBe(true);
    expect(mine.body.items.map((t) => [t.id, t.role])).toContainEqual([id, 'member']);

    const byMember = await json<Err>(`/api/v1/teams/${id}/members`, {
      token: member.token,
      body: { email: outsider.email, role: 'member' },
    });
    expect([byMember.status, byMember.body.error.code]).toEqual([403, 'forbidden_role']);
    const byOutsider = await json<Err>(`/api/v1/teams/${id}/members/${member.id}`, {
      method: 'DELETE',
      token: outsider.token,
    });
    expect(byOutsider.status).toBe(404);
    expect((await json(`/api/v1/teams/${id}`, { token: outsider.token })).status).toBe(404);

    for (const body of [{ email: 'not-an-email', role: 'member' }, { email: outsider.email, role: 'boss' }, {}]) {
      const bad = await json<Err>(`/api/v1/teams/${id}/members`, { token: owner.token, body });
      expect(bad.status, JSON.stringify(body)).toBe(422);
      expect(bad.body.error.code).toBe('validation_failed');
    }
    const nobody = await json<Err>(`/api/v1/teams/${id}/members`, {
      token: owner.token,
      body: { email: `${unique('nobody')}@example.com`, role: 'member' },
    });
    expect(nobody.status).toBe(422);
    const twice = await json<Err>(`/api/v1/teams/${id}/members`, {
      token: owner.token,
      body: { email: member.email, role: 'member' },
    });
    expect([twice.status, twice.body.error.code]).toEqual([409, 'already_member']);
    expect((await json(`/api/v1/teams`, { token: owner.token, body: { name: '' } })).status).toBe(422);

    const last = await json<Err>(`/api/v1/teams/${id}/members/${owner.id}`, {
      method: 'PATCH',
      token: owner.token,
      body: { role: 'member' },
    });
    expect([last.status, last.body.error.code]).toEqual([409, 'last_owner']);
    const promoted = await json<TeamBody>(`/api/v1/teams/${id}/members/${member.id}`, {
      method: 'PATCH',
      token: owner.token,
      body: { role: 'read_only' },
    });
    expect(promoted.body.members.find((m) => m.user_id === member.id)!.role).toBe('read_only');
    const removed = await json(`/api/v1/teams/${id}/members/${member.id}`, { method: 'DELETE', token: owner.token });
    expect(removed.status).toBe(204);
    const after = await json<{ items: { id: string }[] }>('/api/v1/teams', { token: member.token });
    expect(after.body.items.map((t) => t.id)).not.toContain(id);

    // A personal team stays a team of one.
    const personal = mine.body.items[0]!.id;
    const share = await json<Err>(`/api/v1/teams/${personal}/members`, {
      token: member.token,
      body: { email: outsider.email, role: 'member' },
    });
    expect([share.status, share.body.error.code]).toEqual([409, 'personal_team']);
  }, 30_000);
});
