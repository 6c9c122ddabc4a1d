// The computing market: browsing, and exactly one winner among concurrent allocations of one machine.
import { Redis } from '@upstash/redis/cloudflare';
import { createClient } from '@libsql/client/web';
import { describe, expect, it } from 'vitest';
import { TestAgent, admin, bindings, createHost, json, registerUser, unique } from './helpers.ts';
import { until } from '../../dev/src/until.ts';

const redis = new Redis({
  url: bindings.UPSTASH_REDIS_REST_URL,
  token: bindings.UPSTASH_REDIS_REST_TOKEN,
  enableTelemetry: false,
});
const sql = createClient({ url: bindings.LIBSQL_URL, authToken: bindings.LIBSQL_AUTH_TOKEN });

async function addMachine(hostId: string, extra: Record<string, unknown> = {}) {
  const r = await json<{ machine: { id: number } }>('/api/v1/admin/machines', {
    token: await admin(),
    body: {
      name: unique('北京B区-'),
      region: '北京B区',
      gpu_model: 'RTX 5090',
      gpu_count: 2,
      gpu_memory: 32,
      cpu_cores: 16,
      memory_gb: 90,
      disk_gb: 5881,
      target_ip: '127.0.0.2',
      ssh_port: 2222,
      host_id: hostId,
      monthly_price: 4999,
      ...extra,
    },
  });
  expect(r.status).toBe(201);
  return r.body.machine.id;
}

describe('computing market', () => {
  it('filters and paginates the pool', async () => {
    const host = await createHost();
    const region = unique('region-');
    for (const n of [1, 2, 4, 8])
      await addMachine(host.id, { region, gpu_count: n, gpu_model: n > 2 ? 'A100' : 'RTX 4090' });
    const user = await registerUser();
    const r = await json<{ items: { gpu_count: number; target_ip?: string }[]; total: number }>(
      `/api/v1/market/machines?region=${region}&min_gpus=2&page_size=2`,
      { token: user.token },
    );
    expect(r.body.total).toBe(3);
    expect(r.body.items.map((m) => m.gpu_count)).toEqual([2, 4]);
    expect(r.body.items[0]).not.toHaveProperty('target_ip');
    const p2 = await json<{ items: { gpu_count: number }[] }>(
      `/api/v1/market/machines?region=${region}&min_gpus=2&page_size=2&page=2`,
      { token: user.token },
    );
    expect(p2.body.items.map((m) => m.gpu_count)).toEqual([8]);
    const a100 = await json<{ total: number }>(`/api/v1/market/machines?region=${region}&gpu_model=A100`, {
      token: user.token,
    });
    expect(a100.body.total).toBe(2);
    expect((await json(`/api/v1/market/machines?region=${region}&min_gpus=-1`, { token: user.token })).status).toBe(
      422,
    );
  });

  it('100 concurrent allocations of one machine by two renters: one 201, 99 409s, one row, one port, one set of keys', async () => {
    const host = await createHost();
    const agent = await TestAgent.connect(host.token);
    await agent.ready();
    const machineId = await addMachine(host.id);
    const [a, b] = [await registerUser(), await registerUser()];
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        json<{
          environment?: { id: string; ssh_port: number };
          access?: { ssh_password: string };
          error?: { code: string };
        }>(`/api/v1/market/machines/${machineId}/allocate`, { token: (i % 2 ? a : b).token, body: {} }),
      ),
    );
    const won = results.filter((r) => r.status === 201);
    const lost = results.filter((r) => r.status === 409);
    expect(won.length).toBe(1);
    expect(lost.length).toBe(99);
    for (const l of lost) expect(l.body.error?.code).toBe('machine_unavailable');
    const env = won[0]!.body.environment!;
    expect(won[0]!.body.access).toMatchObject({
      environment_id: env.id,
      type: 'physical',
      target_ip: '127.0.0.2',
      ssh_password: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
    });

    const rows = await sql.execute({
      sql: 'SELECT id FROM environments WHERE physical_machine_id = ?',
      args: [machineId],
    });
    expect(rows.rows.length).toBe(1);
    const ports = await sql.execute({ sql: 'SELECT port FROM port_allocations WHERE host_id = ?', args: [host.id] });
    expect(ports.rows.map((r) => Number(r[0]))).toEqual([env.ssh_port]);
    const keys = await redis.keys(`env:*:host`);
    const mine = [];
    for (const k of keys) if ((await redis.get(k)) === host.id) mine.push(k);
    expect(mine).toEqual([`env:${env.id}:host`]);
    const route = await until('the route at the agent', () => agent.routes.get(env.id), { timeout: 5000 });
    expect(route).toMatchObject({ type: 'physical', target: { kind: 'ssh', ip: '127.0.0.2', port: 2222 } });

    const market = await json<{ items: { id: number; status: string }[] }>(
      `/api/v1/market/machines?status=allocated&page_size=100`,
      { token: a.token },
    );
    expect(market.body.items.find((m) => m.id === machineId)?.status).toBe('allocated');

    // Releasing it: the relay drops the route first, then the machine is back in the pool.
    const owner = results.indexOf(won[0]!) % 2 ? a : b;
    const other = owner === a ? b : a;
    expect((await json(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: other.token })).status).toBe(404);
    const del = await json(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: owner.token });
    expect(del.status).toBe(204);
    expect(agent.routes.has(env.id)).toBe(false);
    const m = await sql.execute({ sql: 'SELECT status FROM machines WHERE id = ?', args: [machineId] });
    expect(m.rows[0]![0]).toBe('available');
    expect(
      (await sql.execute({ sql: 'SELECT count(*) FROM port_allocations WHERE host_id = ?', args: [host.id] }))
        .rows[0]![0],
    ).toBe(0);
    agent.close();
  });

  it('with the relay offline, a release waits for the relay before the machine returns to the pool', async () => {
    const host = await createHost();
    const machineId = await addMachine(host.id);
    const user = await registerUser();
    const r = await json<{ environment: { id: string } }>(`/api/v1/market/machines/${machineId}/allocate`, {
      token: user.token,
      body: { name: 'my box' },
    });
    expect(r.status).toBe(201);
    const id = r.body.environment.id;
    const del = await json<{ status: string }>(`/api/v1/environments/${id}`, { method: 'DELETE', token: user.token });
    expect(del.status).toBe(202);
    expect(
      (await sql.execute({ sql: 'SELECT status FROM machines WHERE id = ?', args: [machineId] })).rows[0]![0],
    ).toBe('allocated');
    const agent = await TestAgent.connect(host.token);
    await agent.ready();
    expect(agent.routes.has(id)).toBe(false);
    expect(
      (await sql.execute({ sql: 'SELECT status FROM machines WHERE id = ?', args: [machineId] })).rows[0]![0],
    ).toBe('available');
    expect((await json(`/api/v1/environments/${id}`, { token: user.token })).status).toBe(404);
    agent.close();
  });

  it('answers 404 for an unknown machine and 409 for one in maintenance', async () => {
    const host = await createHost();
    const id = await addMachine(host.id, { status: 'maintenance' });
    const user = await registerUser();
    expect((await json(`/api/v1/market/machines/999999/allocate`, { token: user.token, body: {} })).status).toBe(404);
    expect((await json(`/api/v1/market/machines/abc/allocate`, { token: user.token, body: {} })).status).toBe(404);
    const r = await json<{ error: { code: string } }>(`/api/v1/market/machines/${id}/allocate`, {
      token: user.token,
      body: {},
    });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('machine_unavailable');
  });
});

describe('host key pinning', () => {
  it("pins a machine's host key through its relay at enrolment and hands it to the relay with the route", async () => {
    const host = await createHost();
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFr9+iizavZlDdzo/5KuzSzVkG3JgeZGG3iUikPS0AxR';
    const agent = await TestAgent.connect(host.token, {
      onCommand: async (cmd) =>
        cmd.name === 'target.probe' ? { ok: true, data: { host_key: key } } : { ok: true, data: {} },
    });
    await agent.ready();
    const r = await json<{ machine: { id: number; host_key: string | null } }>('/api/v1/admin/machines', {
      token: await admin(),
      body: {
        name: unique('pin-'),
        region: 'r',
        gpu_model: 'g',
        gpu_count: 1,
        gpu_memory: 24,
        cpu_cores: 8,
        memory_gb: 32,
        disk_gb: 100,
        target_ip: '127.0.0.2',
        ssh_port: 2222,
        host_id: host.id,
        monthly_price: 1,
      },
    });
    expect(r.status).toBe(201);
    expect(r.body.machine.host_key).toBe(key);
    expect(agent.commands.find((c) => c.name === 'target.probe')?.args).toEqual({ ip: '127.0.0.2', port: 2222 });
    const user = await registerUser();
    const env = await json<{ environment: { id: string } }>(`/api/v1/market/machines/${r.body.machine.id}/allocate`, {
      token: user.token,
      body: {},
    });
    const route = await until('the route at the agent', () => agent.routes.get(env.body.environment.id), {
      timeout: 5000,
    });
    expect(route.target).toEqual({ kind: 'ssh', ip: '127.0.0.2', port: 2222, host_key: key });
    // Moving the machine forgets the old pin and pins again.
    await json(`/api/v1/environments/${env.body.environment.id}`, { method: 'DELETE', token: user.token });
    agent.onCommand = async () => ({ ok: false, code: 'probe_failed', message: 'connection refused' });
    const moved = await json<{ machine: { host_key: string | null } }>(`/api/v1/admin/machines/${r.body.machine.id}`, {
      method: 'PATCH',
      token: await admin(),
      body: { target_ip: '127.0.0.3' },
    });
    expect(moved.body.machine.host_key).toBeNull();
    const probe = await json<{ error: { code: string; message: string } }>(
      `/api/v1/admin/machines/${r.body.machine.id}/probe`,
      { method: 'POST', token: await admin() },
    );
    expect(probe.status).toBe(502);
    expect(probe.body.error).toEqual({ code: 'probe_failed', message: 'connection refused' });
    agent.close();
  });
});

describe("the relay's SSH port range", () => {
  it('allocates inside the range the relay serves (its --ssh-ports), and says so when it is full', async () => {
    const host = await createHost();
    const agent = await TestAgent.connect(host.token, { hello: { ssh_ports: [40000, 40001], shared_ssh_port: 2022 } });
    await agent.ready();
    const user = await registerUser();
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await addMachine(host.id);
      const r = await json<{ environment?: { ssh_port: number }; error?: { code: string } }>(
        `/api/v1/market/machines/${id}/allocate`,
        { token: user.token, body: {} },
      );
      if (i < 2) ports.push(r.body.environment!.ssh_port);
      else {
        expect(r.status).toBe(409);
        expect(r.body.error?.code).toBe('no_ports');
      }
    }
    expect(ports.sort()).toEqual([40000, 40001]);
    const hosts = await json<{ items: { id: string; shared_ssh_port: number }[] }>('/api/v1/admin/hosts', {
      token: await admin(),
    });
    expect(hosts.body.items.find((h) => h.id === host.id)?.shared_ssh_port).toBe(2022);
    agent.close();
  });
});

describe('removing a machine from the pool', () => {
  it('is refused (409 machine_rented) while the machine is rented, and works once the renter released it', async () => {
    const host = await createHost();
    const agent = await TestAgent.connect(host.token);
    await agent.ready();
    const machineId = await addMachine(host.id);
    const user = await registerUser();
    const rented = await json<{ environment: { id: string } }>(`/api/v1/market/machines/${machineId}/allocate`, {
      token: user.token,
      body: {},
    });
    expect(rented.status).toBe(201);
    expect((await json(`/api/v1/admin/machines/${machineId}`, { method: 'DELETE', token: user.token })).status).toBe(
      403,
    );
    const refused = await json<{ error: { code: string; message: string } }>(`/api/v1/admin/machines/${machineId}`, {
      method: 'DELETE',
      token: await admin(),
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('machine_rented');
    expect(
      (await sql.execute({ sql: 'SELECT count(*) FROM machines WHERE id = ?', args: [machineId] })).rows[0]![0],
    ).toBe(1);

    expect(
      (await json(`/api/v1/environments/${rented.body.environment.id}`, { method: 'DELETE', token: user.token }))
        .status,
    ).toBe(204);
    expect((await json(`/api/v1/admin/machines/${machineId}`, { method: 'DELETE', token: await admin() })).status).toBe(
      204,
    );
    const pool = await json<{ items: { id: number }[] }>('/api/v1/admin/machines', { token: await admin() });
    expect(pool.body.items.some((m) => m.id === machineId)).toBe(false);
    expect((await json(`/api/v1/market/machines/${machineId}/allocate`, { token: user.token, body: {} })).status).toBe(
      404,
    );
    expect((await json(`/api/v1/admin/machines/${machineId}`, { method: 'DELETE', token: await admin() })).status).toBe(
      404,
    );
    expect((await json('/api/v1/admin/machines/abc', { method: 'DELETE', token: await admin() })).status).toBe(404);
    const audit = await sql.execute({
      sql: "SELECT count(*) FROM audit_events WHERE event = 'machine.delete' AND detail LIKE ?",
      args: [`%"machine_id":${machineId}%`],
    });
    expect(audit.rows[0]![0]).toBe(1);
    agent.close();
  });
});

describe('enrolling a machine with one-time credentials', () => {
  const body = (hostId: string, extra: Record<string, unknown>) => ({
    name: unique('enrol-'),
    region: 'r',
    gpu_model: 'g',
    gpu_count: 1,
    gpu_memory: 24,
    cpu_cores: 8,
    memory_gb: 32,
    disk_gb: 100,
    target_ip: '10.0.0.9',
    host_id: hostId,
    monthly_price: 1,
    ...extra,
  });

  it('sends the credentials to the relay in target.enrol only, pins the key it answers, and stores neither', async () => {
    const host = await createHost();
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFr9+iizavZlDdzo/5KuzSzVkG3JgeZGG3iUikPS0AxR';
    const agent = await TestAgent.connect(host.token, {
      onCommand: async (cmd) =>
        cmd.name === 'target.enrol'
          ? { ok: true, data: { host_key: key, installed: true } }
          : { ok: false, code: 'probe_failed', message: 'no' },
    });
    await agent.ready();
    const secret = `pw-${unique()}`;
    const r = await json<{ machine: { id: number; host_key: string | null } }>('/api/v1/admin/machines', {
      token: await admin(),
      body: body(host.id, { enrol: { password: secret } }),
    });
    expect(r.status).toBe(201);
    expect(r.body.machine.host_key).toBe(key);
    expect(agent.commands.filter((c) => c.name === 'target.enrol').map((c) => c.args)).toEqual([
      { ip: '10.0.0.9', port: 22, username: 'root', password: secret },
    ]);
    expect(agent.commands.some((c) => c.name === 'target.probe')).toBe(false);
    expect(JSON.stringify(r.body)).not.toContain(secret);
    for (const table of ['machines', 'audit_events']) {
      const rows = await sql.execute(`SELECT * FROM ${table}`);
      expect(JSON.stringify(rows.rows)).not.toContain(secret);
    }
    // Again later (after a reinstall), with a key instead of a password.
    const again = await json<{ machine: { host_key: string } }>(`/api/v1/admin/machines/${r.body.machine.id}/enrol`, {
      token: await admin(),
      body: {
        username: 'ops',
        private_key: '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----',
      },
    });
    expect(again.status).toBe(200);
    expect(agent.commands.at(-1)?.args).toMatchObject({ username: 'ops', port: 22 });
    agent.close();
  });

  it('leaves nothing in the pool when the machine refuses the credentials or the relay is offline; validates the input', async () => {
    const host = await createHost();
    const offlineName = unique('enrol-');
    const offline = await json<{ error: { code: string } }>('/api/v1/admin/machines', {
      token: await admin(),
      body: { ...body(host.id, { enrol: { password: 'x' } }), name: offlineName },
    });
    expect(offline.status).toBe(503);
    expect(offline.body.error.code).toBe('host_offline');
    const agent = await TestAgent.connect(host.token, {
      onCommand: async () => ({
        ok: false,
        code: 'enrol_auth_failed',
        message: '10.0.0.9:22 refused the credentials for root',
      }),
    });
    await agent.ready();
    const refused = await json<{ error: { code: string } }>('/api/v1/admin/machines', {
      token: await admin(),
      body: { ...body(host.id, { enrol: { password: 'wrong' } }), name: offlineName },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('enrol_auth_failed');
    expect(
      (await sql.execute({ sql: 'SELECT count(*) FROM machines WHERE name = ?', args: [offlineName] })).rows[0]![0],
    ).toBe(0);
    for (const enrol of [
      {},
      { password: 'a', private_key: 'b' },
      { password: '' },
      { password: 'a', passphrase: 'p' },
      { password: 'a', username: 'Root;rm' },
      { password: 'a', extra: 1 },
    ]) {
      const bad = await json<{ error: { code: string } }>('/api/v1/admin/machines', {
        token: await admin(),
        body: body(host.id, { enrol }),
      });
      expect(bad.status, JSON.stringify(enrol)).toBe(422);
      expect(bad.body.error.code).toBe('validation_failed');
    }
    expect(
      (await json('/api/v1/admin/machines/999999/enrol', { token: await admin(), body: { password: 'x' } })).status,
    ).toBe(404);
    expect(agent.commands.filter((c) => c.name === 'target.enrol').length).toBe(1);
    agent.close();
  });
});
