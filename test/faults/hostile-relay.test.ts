// A hostile relay with a valid token for host X cannot touch host Y's environments, machines or audit trail, nor
// bring the edge down: malformed hellos are refused with a reason, and a seeded fuzz of every result and event
// (with Y's ids), garbage, oversized frames, floods and slow-loris connections leaves Y and the edge working.
// CI runs a fixed seed briefly (REMOTEGPU_FUZZ_SEED / REMOTEGPU_FUZZ_ROUNDS change it); bench/faults runs it long.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODE, MSG } from '@remotegpu/schema';
import { until } from '../../dev/src/until.ts';
import { sshPassword, type PasswordAccess } from '../support/ssh-login.ts';
import { closeAfter, dial, hostileRelay, slowLoris, validHello } from './hostile-relay.ts';
import { faultRig, type FaultRig } from './support.ts';

const SEED = Number(process.env.REMOTEGPU_FUZZ_SEED ?? 17);
const ROUNDS = Number(process.env.REMOTEGPU_FUZZ_ROUNDS ?? 400);

type Env = { id: string; status: string; container_id: string | null; target_ip: string };
type Audit = { id: number; event: string; source_ip: string | null };

describe('a hostile relay', () => {
  let rig: FaultRig;
  let renter: string;
  let admin: string;
  let victim: { id: string; access: PasswordAccess };
  let box: string;
  let hostile: { id: string; token: string };

  const snapshot = async () => {
    const envs = (await rig.p.api<{ items: Env[] }>('/api/v1/environments', { token: renter })).body.items;
    const audit = (
      await rig.p.api<{ items: Audit[] }>('/api/v1/audit-events?limit=500', { token: renter })
    ).body.items.map((a) => ({ id: a.id, event: a.event, source_ip: a.source_ip }));
    const machines = (
      await rig.p.api<{ items: { id: number; status: string; name: string }[] }>('/api/v1/admin/machines', {
        token: admin,
      })
    ).body.items;
    return {
      envs: envs.map((e) => ({ id: e.id, status: e.status, container_id: e.container_id, target_ip: e.target_ip })),
      audit,
      machines: machines.map((m) => ({ id: m.id, status: m.status })),
    };
  };

  beforeAll(async () => {
    rig = await faultRig({ sshPorts: '28700-28799' });
    admin = await rig.p.admin();
    renter = await rig.p.renter();
    victim = await rig.container(renter, 'victim');
    box = (await rig.appBox(renter, '127.0.0.7')).envId;
    await until('victim login', async () => (await sshPassword(victim.access, 'true')).code === 0, {
      timeout: 30_000,
    });
    const h = await rig.p.api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', {
      token: admin,
      body: { name: 'hostile', public_ssh_host: '127.0.0.1' },
    });
    hostile = { id: h.body.host.id, token: h.body.token };
  }, 180_000);

  afterAll(async () => {
    await rig?.p.close();
  }, 60_000);

  it('refuses malformed hellos with a reason, on the control and the data connection', async () => {
    const cases: [string, string | Buffer, number, RegExp][] = [
      ['garbage', 'not json', CLOSE_CODE.badHello, /first frame must be a hello, got invalid JSON/],
      ['another type first', JSON.stringify({ type: MSG.ping, ts: 1 }), CLOSE_CODE.badHello, /got ping/],
      ['a binary frame', Buffer.from([1, 2, 3]), CLOSE_CODE.badHello, /got a binary frame/],
      [
        'a mistyped hello',
        JSON.stringify({ type: MSG.hello, protocol: 'one', agent_version: 1 }),
        CLOSE_CODE.badHello,
        /malformed hello/,
      ],
      ['another protocol', validHello({ protocol: 999 }), CLOSE_CODE.protocolMismatch, /protocol 999 not supported/],
    ];
    for (const query of ['', '?role=data&shard=0&shards=1']) {
      for (const [what, frame, code, reason] of cases) {
        const ws = await dial(rig.p.url, hostile.token, query);
        const closed = await closeAfter(ws, (w) => w.send(frame, { binary: Buffer.isBuffer(frame) }));
        expect(closed, `${what} ${query}`).not.toBeNull();
        expect(closed!.code, `${what} ${query}`).toBe(code);
        expect(closed!.reason, `${what} ${query}`).toMatch(reason);
      }
    }
    // A valid hello is welcomed.
    const ok = await dial(rig.p.url, hostile.token);
    const open = await closeAfter(ok, (w) => w.send(validHello()), 1500);
    expect(open).toBeNull();
    ok.close();
  }, 60_000);

  it(`seed ${SEED}, ${ROUNDS} rounds: every result and event with the other host's ids, garbage, oversized frames, floods, slow loris: host Y untouched, the edge healthy`, async () => {
    const before = await snapshot();
    const stopLoris = await slowLoris(rig.p.url, hostile.token, 20);
    const report = await hostileRelay({
      edge: rig.p.url,
      token: hostile.token,
      seed: SEED,
      rounds: ROUNDS,
      victims: { envIds: [victim.id, box], hostId: rig.hostId },
    });
    // While the loris connections hang on: the edge answers and host Y works.
    const t0 = Date.now();
    const health = await fetch(`${rig.p.url}/healthz`);
    expect(health.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((await sshPassword(victim.access, 'echo still-mine')).stdout.trim()).toBe('still-mine');
    await stopLoris();
    expect(report.sent).toBeGreaterThan(ROUNDS);
    // Give the edge time to work through what it queued, then compare.
    await new Promise((r) => setTimeout(r, 2000));
    const after = await snapshot();
    expect(after.envs).toEqual(before.envs);
    expect(after.machines).toEqual(before.machines);
    // Y's renter sees the audit events before, plus the login above and its logout (none of the hostile host's).
    const added = after.audit.filter((a) => !before.audit.some((b) => b.id === a.id));
    expect(added.map((a) => a.event).sort()).toEqual(['ssh_login', 'ssh_logout']);
    expect(after.audit.filter((a) => a.source_ip === '6.6.6.6')).toEqual([]);
    const victimAudit = (
      await rig.p.api<{ items: (Audit & { environment_id: string | null })[] }>(
        `/api/v1/audit-events?environment_id=${victim.id}&limit=500`,
        { token: renter },
      )
    ).body.items;
    expect(victimAudit.filter((a) => a.source_ip === '6.6.6.6')).toEqual([]);
    const metrics = await rig.p.api<{ latest: { cpu_usage: number } | null; history: { cpu_usage: number }[] }>(
      `/api/v1/environments/${victim.id}/metrics`,
      { token: renter },
    );
    expect(metrics.body.history.filter((m) => m.cpu_usage === 99)).toEqual([]);
    expect(metrics.body.latest?.cpu_usage).not.toBe(99);
    const recordings = await rig.p.api<{ items: unknown[] }>(`/api/v1/environments/${victim.id}/recordings`, {
      token: renter,
    });
    expect(recordings.body.items).toEqual([]);
    // Host Y is still online and its relay still serves; the edge still creates on it.
    const hosts = (
      await rig.p.api<{ items: { id: string; status: string }[] }>('/api/v1/admin/hosts', { token: admin })
    ).body.items;
    expect(hosts.find((h) => h.id === rig.hostId)?.status).toBe('online');
    const fresh = await rig.container(renter, 'after-fuzz');
    await until('a new container logs in', async () => (await sshPassword(fresh.access, 'true')).code === 0, {
      timeout: 30_000,
    });
    console.log(JSON.stringify({ fuzz: { seed: SEED, rounds: ROUNDS, ...report, closes: report.closes.length } }));
  }, 180_000);
});
