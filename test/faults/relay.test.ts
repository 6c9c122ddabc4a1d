// Faults of a relay, injected and healed by the test: SIGKILL during an scp, and its tunnel to the edge cut off
// (a loopback proxy drops every byte). The edge's heartbeat is 1 s here (REMOTEGPU_HEARTBEAT_MS; 20 s in production),
// so "three missed heartbeats" takes 3 s instead of a minute: the same detection, shortened.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../dev/src/until.ts';
import { appGet, appGrant } from '../support/app-targets.ts';
import { sshPassword, type PasswordAccess } from '../support/ssh-login.ts';
import { faultRig, type FaultRig } from './support.ts';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `scp` with the access block's password; resolves with its exit code and how long it ran. */
function scp(a: PasswordAccess, from: string, to: string, extra: string[] = []) {
  const started = Date.now();
  const child = spawn(
    'sshpass',
    [
      '-e',
      'scp',
      '-P',
      String(a.ssh_port),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'PubkeyAuthentication=no',
      '-o',
      'LogLevel=ERROR',
      ...extra,
      from,
      to.replace('REMOTE:', `${a.ssh_username}@${a.ssh_host}:`),
    ],
    { env: { ...process.env, SSHPASS: a.ssh_password }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; ms: number; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, ms: Date.now() - started, stderr })),
  );
  return { child, done };
}

type Audit = { id: number; event: string; status: string; source_ip: string | null; timestamp: string };

describe('relay faults', () => {
  let rig: FaultRig;
  let renter: string;
  const dir = mkdtempSync(join(tmpdir(), 'faults-scp-'));
  const audit = async (envId: string, event = 'ssh_login') =>
    (
      await rig.p.api<{ items: Audit[] }>(`/api/v1/audit-events?environment_id=${envId}&event=${event}&limit=500`, {
        token: renter,
      })
    ).body.items ?? [];

  /** The environment's stored metric samples since `since` (oldest first). */
  const history = async (envId: string, since: string) =>
    (
      await rig.p.api<{ history: { timestamp: string }[] }>(
        `/api/v1/environments/${envId}/metrics?since=${encodeURIComponent(since)}&limit=5000`,
        { token: renter },
      )
    ).body.history ?? [];

  beforeAll(async () => {
    rig = await faultRig({
      sshPorts: '28600-28699',
      proxy: true,
      vars: { REMOTEGPU_HEARTBEAT_MS: '1000' },
      // A sample a second, so that the shortened outage spans many.
      relayEnv: { REMOTEGPU_METRICS_INTERVAL: '1' },
    });
    renter = await rig.p.renter();
  }, 180_000);

  afterAll(async () => {
    rig?.proxy?.heal();
    await rig?.p.close();
  }, 60_000);

  it('SIGKILL during an scp upload: the client fails within seconds; after a restart a new scp works and the audit trail has both sessions', async () => {
    const env = await rig.container(renter, 'faults-scp');
    await until('first login', async () => (await sshPassword(env.access, 'true')).code === 0, { timeout: 30_000 });
    // 64 MiB at 4 MiB/s (`-l` is in Kbit/s): 16 s of transfer, so the kill lands mid-copy on a busy 2-core machine
    // too; 256 MiB would only make the test longer, the relay holds no more per session than its window.
    const big = join(dir, 'big.bin');
    writeFileSync(big, randomBytes(64 * MiB));
    const up = scp(env.access, big, 'REMOTE:/tmp/big.bin', ['-l', String(32 * 1024)]);
    await sleep(3000);
    expect(up.child.exitCode).toBeNull(); // still copying
    const killedAt = Date.now();
    rig.relay.kill('SIGKILL');
    const r = await up.done;
    expect(r.code).not.toBe(0);
    expect(Date.now() - killedAt).toBeLessThan(10_000);

    rig.startRelay();
    await rig.online();
    const small = join(dir, 'small.bin');
    const data = randomBytes(2 * MiB);
    writeFileSync(small, data);
    await until(
      'an scp after the restart',
      async () => (await scp(env.access, small, 'REMOTE:/tmp/small.bin').done).code === 0,
      { timeout: 30_000, interval: 1000 },
    );
    const sum = await sshPassword(env.access, 'sha256sum /tmp/small.bin');
    expect(sum.stdout.split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
    // The killed session's login was in the relay's outbox on disk: it arrives after the restart, once.
    const logins = await until(
      'the logins in the audit trail',
      async () => {
        const l = (await audit(env.id)).filter((e) => e.status === 'success');
        return l.length >= 4 ? l : null; // first login, the killed scp, the scp after, sha256sum
      },
      { timeout: 30_000 },
    );
    await sleep(1500);
    expect((await audit(env.id)).filter((e) => e.status === 'success').length).toBe(logins.length);
    await rig.p.api(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: renter });
  }, 150_000);

  it('cut off from the edge: SSH goes on, apps answer a clear 502, and the audit events and metrics arrive afterwards, each once', async () => {
    const env = await rig.container(renter, 'faults-cut');
    await until('first login', async () => (await sshPassword(env.access, 'true')).code === 0, { timeout: 30_000 });
    const box = await rig.appBox(renter, '127.0.0.6');
    const cookie = await appGrant({ edgePort: rig.p.port, token: renter, envId: box.envId, port: box.targets.port });
    const app = () =>
      appGet({ edgePort: rig.p.port, envId: box.envId, port: box.targets.port, path: '/hello', headers: { cookie } });
    await until('the app answers', async () => (await app()).status === 200, { timeout: 20_000 });
    const before = (await audit(env.id)).length;
    const metricsSince = new Date(Date.now() - 60_000).toISOString();
    await until('a metric sample of the container', async () => (await history(env.id, metricsSince)).length > 0, {
      timeout: 20_000,
    });

    rig.proxy!.freeze();
    const cutAt = Date.now();
    await rig.online(false);
    const gone = await until(
      'apps answer 502',
      async () => {
        const r = await app();
        return r.status === 502 ? (JSON.parse(r.body.toString()) as { error: { code: string } }) : null;
      },
      { timeout: 15_000, interval: 500 },
    );
    expect(gone.error.code).toBe('host_offline');
    const outage: string[] = [];
    for (let i = 0; i < 3; i++) {
      const word = `cut-${i}-${randomBytes(3).toString('hex')}`;
      const r = await sshPassword(env.access, `echo ${word}`);
      expect(r.stdout.trim()).toBe(word);
      outage.push(word);
    }
    // The shortened outage: at least 12 heartbeat periods of the edge, so both ends have given up the old tunnel.
    await sleep(Math.max(0, 12_000 - (Date.now() - cutAt)));

    rig.proxy!.heal();
    const healAt = Date.now();
    await rig.online(true);
    await until('apps answer again', async () => (await app()).status === 200, { timeout: 30_000 });
    const after = await until(
      'the outage logins in the audit trail',
      async () => {
        const l = await audit(env.id);
        return l.length >= before + outage.length ? l : null;
      },
      { timeout: 30_000 },
    );
    await sleep(2000);
    const settled = await audit(env.id);
    expect(settled.length).toBe(after.length);
    expect(settled.length).toBe(before + outage.length);

    // Metrics: the samples the relay took while cut off (one a second) arrive afterwards, each timestamp once, and
    // none is missing (no gap beyond what a slow `docker stats` explains).
    const samples = await until(
      'samples from after the outage',
      async () => {
        const h = await history(env.id, metricsSince);
        return h.some((s) => Date.parse(s.timestamp) > healAt + 2000) ? h : null;
      },
      { timeout: 30_000 },
    );
    const stamps = samples.map((s) => Date.parse(s.timestamp));
    expect(new Set(stamps).size).toBe(stamps.length);
    const during = stamps.filter((t) => t > cutAt && t < healAt);
    expect(during.length).toBeGreaterThanOrEqual(4);
    const span = stamps.filter((t) => t > cutAt - 3000 && t < healAt + 2000);
    const gaps = span.slice(1).map((t, i) => t - span[i]!);
    expect(Math.max(...gaps)).toBeLessThan(6000);
    await rig.p.api(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: renter });
  }, 150_000);
});
