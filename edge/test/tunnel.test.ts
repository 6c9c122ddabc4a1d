// HostTunnel: authentication, version check, presence, drift correction, events and acks.
import { createClient } from '@libsql/client/web';
import { env } from 'cloudflare:workers';
import { HEARTBEAT_MS, MSG, PROTOCOL_VERSION, RELAY_AGENT_RELEASE } from '@remotegpu/schema';
import { describe, expect, it } from 'vitest';
import { TestAgent, admin, bindings, call, createHost, json, registerUser, physicalEnv, unique } from './helpers.ts';
import { until } from '../../dev/src/until.ts';

const sql = createClient({ url: bindings.LIBSQL_URL, authToken: bindings.LIBSQL_AUTH_TOKEN });

async function hostStatus(id: string) {
  const l = await json<{ items: { id: string; status: string; agent_version: string | null; inventory: unknown }[] }>(
    '/api/v1/admin/hosts',
    { token: await admin() },
  );
  return l.body.items.find((h) => h.id === id)!;
}

describe('agent connection', () => {
  it('refuses missing, malformed and unknown host tokens', async () => {
    expect((await call('/agent/connect', { headers: { upgrade: 'websocket' } })).status).toBe(401);
    expect(
      (await call('/agent/connect', { token: 'rgh_' + 'x'.repeat(43), headers: { upgrade: 'websocket' } })).status,
    ).toBe(401);
    expect(
      (await call('/agent/connect', { token: 'not-a-host-token', headers: { upgrade: 'websocket' } })).status,
    ).toBe(401);
    const host = await createHost();
    expect((await call('/agent/connect', { token: host.token })).status).toBe(426);
  });

  it('closes with a clear reason on a protocol version mismatch', async () => {
    const host = await createHost();
    const agent = await TestAgent.connect(host.token, { protocol: PROTOCOL_VERSION + 41 });
    const closed = await until('the agent closed', () => agent.closed, { timeout: 5000 });
    expect(closed.code).toBe(4002);
    expect(closed.reason).toContain(`protocol ${PROTOCOL_VERSION + 41} not supported`);
    expect(closed.reason).toContain('upgrade the edge');
  });

  it('accepts a relay one protocol version behind; refuses an older one naming the release to install, shown in the fleet view', async () => {
    const prev = await createHost();
    const behind = await TestAgent.connect(prev.token, { protocol: PROTOCOL_VERSION - 1 });
    await behind.ready();
    expect(behind.closed).toBeNull();
    behind.close();
    const old = await createHost();
    const tooOld = await TestAgent.connect(old.token, {
      protocol: PROTOCOL_VERSION - 2,
      hello: { agent_version: '0.0.1-ancient' },
    });
    const closed = await until('the old agent closed', () => tooOld.closed, { timeout: 5000 });
    expect(closed.code).toBe(4002);
    expect(closed.reason).toContain(`install @remotegpu/relay-agent@${RELAY_AGENT_RELEASE}`);
    const row = await until(
      'the refusal in the fleet view',
      async () => {
        const f = await json<{
          items: { id: string; status: string; agent_version: string | null; offline_reason: string | null }[];
        }>('/api/v1/admin/fleet', { token: await admin() });
        const h = f.body.items.find((x) => x.id === old.id);
        return h?.offline_reason ? h : null;
      },
      { timeout: 5000 },
    );
    expect(row).toMatchObject({ status: 'offline', agent_version: '0.0.1-ancient' });
    expect(row.offline_reason).toContain(`install @remotegpu/relay-agent@${RELAY_AGENT_RELEASE}`);
  });

  it('shows the host online with inventory and version, answers heartbeats, ignores garbage, and goes offline on close', async () => {
    const host = await createHost();
    expect(host.install_command).toMatch(/^npx @remotegpu\/relay-agent --edge http:\/\/edge\.test --token rgh_/);
    const agent = await TestAgent.connect(host.token);
    await agent.ready();
    const h = await hostStatus(host.id);
    expect(h).toMatchObject({
      status: 'online',
      agent_version: '0.0.0-test',
      inventory: { cpu_cores: 64, nvidia_runtime: true },
    });
    agent.send('this is not json');
    agent.send({ type: 'future.message', x: 1 });
    agent.send({ type: 'cmd', id: 'x' });
    agent.ws.send(new Uint8Array([1, 2, 3]));
    const pong = new Promise<unknown>((resolve) =>
      agent.ws.addEventListener('message', (e) => {
        if (String(e.data).includes('"pong"')) resolve(JSON.parse(String(e.data)));
      }),
    );
    agent.send({ type: MSG.ping, ts: 42 });
    expect(await pong).toEqual({ type: 'pong', ts: 42 });
    agent.close();
    await until('the host offline', async () => (await hostStatus(host.id)).status === 'offline', { timeout: 5000 });
  });

  it('rotating the token disconnects the agent and the old token stops working', async () => {
    const host = await createHost();
    const agent = await TestAgent.connect(host.token);
    await agent.ready();
    const rotated = await json<{ token: string }>(`/api/v1/admin/hosts/${host.id}/rotate-token`, {
      method: 'POST',
      token: await admin(),
    });
    expect(rotated.status).toBe(200);
    const closed = await until('the agent closed', () => agent.closed, { timeout: 5000 });
    expect(closed.code).toBe(4001);
    expect((await call('/agent/connect', { token: host.token, headers: { upgrade: 'websocket' } })).status).toBe(401);
    const again = await TestAgent.connect(rotated.body.token);
    await again.ready();
    again.close();
  });

  it('deleting a host is refused while environments live there', async () => {
    const host = await createHost();
    const user = await registerUser();
    await physicalEnv(host.id, user);
    const r = await json<{ error: { code: string } }>(`/api/v1/admin/hosts/${host.id}`, {
      method: 'DELETE',
      token: await admin(),
    });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('host_in_use');
    const empty = await createHost();
    expect((await call(`/api/v1/admin/hosts/${empty.id}`, { method: 'DELETE', token: await admin() })).status).toBe(
      204,
    );
  });
});

describe('reconciliation and events', () => {
  it('a container that died while the relay was away never stays running', async () => {
    const host = await createHost();
    const user = await registerUser();
    const now = Date.now();
    const ids = ['a', 'b', 'c'].map((x) => `${x}${unique('').replace(/[^a-z0-9]/g, '')}`.padEnd(16, '0').slice(0, 16));
    for (const [i, id] of ids.entries()) {
      await sql.execute({
        sql: `INSERT INTO environments (id, name, type, ssh_host, ssh_port, target_ip, container_id, user_id, status, host_id, password_hash, password_enc, created_at, updated_at)
              VALUES (?, 'drift', 'container', '127.0.0.1', ?, '172.31.9.9', ?, ?, 'running', ?, 'scrypt$1024$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==', 'v1.x.y', ?, ?)`,
        args: [id, 51000 + i, `cid-${i}`, user.id, host.id, now, now],
      });
    }
    const agent = await TestAgent.connect(host.token, {
      containers: [
        { environment_id: ids[0]!, container_id: 'cid-0', state: 'running', ip: '172.31.9.10' },
        { environment_id: ids[1]!, container_id: 'cid-1', state: 'exited', exit_code: 137 },
        { environment_id: 'zzzzzzzzzzzzzzzz', container_id: 'orphan', state: 'running' },
      ],
    });
    await agent.ready();
    const status = async (id: string) =>
      (await sql.execute({ sql: 'SELECT status, status_reason FROM environments WHERE id = ?', args: [id] })).rows[0]!;
    expect((await status(ids[0]!))[0]).toBe('running');
    expect((await status(ids[1]!))[0]).toBe('failed');
    expect(String((await status(ids[1]!))[1])).toContain('137');
    expect((await status(ids[2]!))[0]).toBe('failed');
    // The orphan (no environment) is removed.
    await until(
      'the orphan removed',
      () =>
        agent.commands.find(
          (c) => c.name === 'container.remove' && (c.args as { container_id: string }).container_id === 'orphan',
        ),
      { timeout: 5000 },
    );
    agent.close();
  });

  it('stores metrics and audit events of its own environments only, and acknowledges audit events', async () => {
    const host = await createHost();
    const other = await createHost();
    const user = await registerUser();
    const id = await physicalEnv(host.id, user);
    const foreign = await physicalEnv(other.id, user);
    const agent = await TestAgent.connect(host.token);
    await agent.ready();
    const sample = (env: string) => ({
      environment_id: env,
      type: 'physical',
      timestamp: new Date().toISOString(),
      cpu_usage: 12.5,
      memory_usage: 40,
      gpu_usage: 77,
      network_in: 1000,
      network_out: 2000,
      reachable: true,
      rtt_ms: 0.4,
    });
    // A week-old sample in the same batch is pruned at once (retention), whatever the query's window.
    const stale = { ...sample(id), timestamp: new Date(Date.now() - 8 * 86_400_000).toISOString() };
    agent.send({ type: MSG.event, name: 'metrics', data: { samples: [stale, sample(id), sample(foreign)] } });
    const acks: string[][] = [];
    agent.ws.addEventListener('message', (e) => {
      const m = JSON.parse(String(e.data));
      if (m.type === 'ack') acks.push(m.ids);
    });
    const line = {
      timestamp: '2026-02-02T10:30:00Z',
      type: 'physical',
      event: 'ssh_login',
      source_ip: '1.2.3.4',
      username: 'root',
      status: 'success',
    };
    agent.send({
      type: MSG.event,
      name: 'audit',
      data: {
        events: [
          { ...line, id: 'o1', environment_id: id },
          { ...line, id: 'o2', environment_id: foreign },
        ],
      },
    });
    await until('an ack', () => acks.length > 0, { timeout: 5000 });
    expect(acks[0]).toEqual(['o1', 'o2']);
    // A resend (the ack was lost) stores nothing twice.
    agent.send({ type: MSG.event, name: 'audit', data: { events: [{ ...line, id: 'o1', environment_id: id }] } });
    await until('a second ack', () => acks.length > 1, { timeout: 5000 });

    const m = await until(
      'the metrics',
      async () => {
        const r = await json<{ latest: { gpu_usage: number } | null; history: unknown[] }>(
          `/api/v1/environments/${id}/metrics?since=${new Date(Date.now() - 30 * 86_400_000).toISOString()}`,
          { token: user.token },
        );
        return r.body.latest ? r.body : null;
      },
      { timeout: 5000 },
    );
    expect(m.latest).toMatchObject({ gpu_usage: 77, cpu_usage: 12.5 });
    expect(m.history.length).toBe(1);
    const f = await json<{ latest: unknown; history: unknown[] }>(`/api/v1/environments/${foreign}/metrics`, {
      token: user.token,
    });
    expect(f.body).toEqual({ latest: null, history: [] });

    const audit = await json<{ items: { event: string; environment_id: string | null; source_ip: string }[] }>(
      '/api/v1/audit-events?event=ssh_login',
      { token: user.token },
    );
    expect(audit.body.items.filter((a) => a.environment_id === id)).toEqual([
      expect.objectContaining({ source_ip: '1.2.3.4', event: 'ssh_login' }),
    ]);
    expect(audit.body.items.filter((a) => a.environment_id === foreign)).toEqual([]);
    agent.close();
  });

  it('stores outbox metric samples once each (a re-sent batch adds nothing), acks them, and ignores foreign ones', async () => {
    const host = await createHost();
    const other = await createHost();
    const user = await registerUser();
    const id = await physicalEnv(host.id, user);
    const foreign = await physicalEnv(other.id, user);
    const agent = await TestAgent.connect(host.token);
    await agent.ready();
    const acks: string[][] = [];
    agent.ws.addEventListener('message', (e) => {
      const m = JSON.parse(String(e.data));
      if (m.type === 'ack') acks.push(m.ids);
    });
    const t0 = Date.now() - 60_000;
    const sample = (env: string, i: number) => {
      const timestamp = new Date(t0 + i * 1000).toISOString();
      return {
        id: `metrics:${env}:${timestamp}`,
        environment_id: env,
        type: 'physical',
        timestamp,
        cpu_usage: i,
        memory_usage: 40,
        gpu_usage: 0,
        network_in: 0,
        network_out: 0,
      };
    };
    const batch = [sample(id, 0), sample(id, 1), sample(foreign, 1), sample(id, 2)];
    agent.send({ type: MSG.event, name: 'metrics', data: { samples: batch } });
    await until('an ack', () => acks.length > 0, { timeout: 5000 });
    expect(acks[0]).toEqual(batch.map((s) => s.id));
    // The ack was lost: the relay sends the batch again (and a new sample) after reconnecting.
    agent.send({ type: MSG.event, name: 'metrics', data: { samples: [...batch, sample(id, 3)] } });
    await until('a second ack', () => acks.length > 1, { timeout: 5000 });
    // A malformed batch (an environment id too long) is refused whole: nothing stored, nothing acked.
    agent.send({
      type: MSG.event,
      name: 'metrics',
      data: { samples: [{ ...sample(id, 4), environment_id: 'x'.repeat(65) }] },
    });
    agent.send({ type: MSG.event, name: 'metrics', data: { samples: [sample(id, 4)] } });
    await until('a third ack', () => acks.length > 2, { timeout: 5000 });
    expect(acks[2]).toEqual([sample(id, 4).id]);

    const r = await json<{ latest: { cpu_usage: number } | null; history: { timestamp: string; cpu_usage: number }[] }>(
      `/api/v1/environments/${id}/metrics?since=${new Date(t0 - 1000).toISOString()}`,
      { token: user.token },
    );
    expect(r.body.history.map((h) => h.cpu_usage)).toEqual([0, 1, 2, 3, 4]);
    expect(r.body.history[0]).not.toHaveProperty('id');
    expect(r.body.latest?.cpu_usage).toBe(4);
    const f = await json<{ history: unknown[] }>(`/api/v1/environments/${foreign}/metrics`, { token: user.token });
    expect(f.body.history).toEqual([]);
    agent.close();
  });
});

describe('heartbeats', () => {
  it('takes a relay that went silent for three heartbeats offline at its alarm, and keeps a live one online', async () => {
    const { runInDurableObject, runDurableObjectAlarm } = await import('cloudflare:test');
    const ns = (env as unknown as { HOST_TUNNEL: DurableObjectNamespace }).HOST_TUNNEL;
    const host = await createHost();
    const agent = await TestAgent.connect(host.token);
    await agent.ready();
    const stub = ns.get(ns.idFromName(host.id));
    // A relay that answered recently: the alarm only re-arms itself.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await hostStatus(host.id)).status).toBe('online');
    // Silent for longer than three heartbeats (what a dead TCP connection looks like): the alarm ends it.
    await runInDurableObject(stub, (instance: unknown) => {
      (instance as { lastSeen: number }).lastSeen = Date.now() - 3 * HEARTBEAT_MS - 1000;
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await until('the host offline', async () => (await hostStatus(host.id)).status === 'offline', { timeout: 5000 });
    await until('the agent closed', () => agent.closed, { timeout: 5000 });
  });
});
