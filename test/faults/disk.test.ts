// The relay's state folder on a full disk (a 16 MiB tmpfs filled by the test): logins go on, the relay logs a clear
// error, the edge hears of it (a `relay.state_write_failed` audit event) and still gets the logins' audit events
// (sent without a local copy); once space returns, nothing in the state file is corrupt and a restart loads it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopChild } from '../../dev/src/stack.ts';
import { until } from '../../dev/src/until.ts';
import { sshPassword } from '../support/ssh-login.ts';
import { faultRig, type FaultRig } from './support.ts';

type Audit = { id: number; event: string; status: string; detail: unknown; host_id?: string };

describe("the relay's state folder on a full disk", () => {
  const mnt = mkdtempSync(join(tmpdir(), 'faults-disk-'));
  const stateDir = join(mnt, 'state');
  const filler = join(mnt, 'filler');
  let rig: FaultRig;
  let renter: string;

  beforeAll(async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt]);
    rig = await faultRig({ sshPorts: '28900-28999', stateDir });
    renter = await rig.p.renter();
  }, 180_000);

  afterAll(async () => {
    await rig?.p.close();
    try {
      execFileSync('umount', ['-l', mnt]);
    } catch {
      /* not mounted */
    }
    rmSync(mnt, { recursive: true, force: true });
  }, 60_000);

  it('logins go on, the error is in the log and at the edge, their audit events arrive; space back: the state is intact', async () => {
    const env = await rig.container(renter, 'full-disk');
    await until('first login', async () => (await sshPassword(env.access, 'true')).code === 0, { timeout: 30_000 });
    const logins = async () =>
      (
        await rig.p.api<{ items: Audit[] }>(`/api/v1/audit-events?environment_id=${env.id}&event=ssh_login`, {
          token: renter,
        })
      ).body.items.length;
    await until('the first login audited', async () => (await logins()) >= 1, { timeout: 20_000 });
    const before = await logins();

    // Fill it: a file as big as the space left (dd stops at ENOSPC).
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      /* ENOSPC: full */
    }
    const from = rig.logs.length;
    for (let i = 0; i < 3; i++) {
      const word = `full-${i}`;
      expect((await sshPassword(env.access, `echo ${word}`)).stdout.trim()).toBe(word);
    }
    expect(rig.relay.exitCode).toBeNull();
    const errors = rig.logs.slice(from).filter((l) => l.includes('could not persist an outbox event'));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/full/i);
    // At the edge: the logins (sent without a local copy) and the state error itself.
    await until('the logins on a full disk audited', async () => (await logins()) >= before + 3, { timeout: 20_000 });
    const admin = await rig.p.admin();
    const stateErrors = await until(
      'the state error at the edge',
      async () => {
        const l = (
          await rig.p.api<{ items: Audit[] }>('/api/v1/audit-events?all=true&event=relay.state_write_failed', {
            token: admin,
          })
        ).body.items;
        return l.length ? l : null;
      },
      { timeout: 20_000 },
    );
    expect(JSON.stringify(stateErrors[0]!.detail)).toMatch(/full/i);

    // Space back: the next login is stored as usual, and the state file is intact after a restart.
    rmSync(filler);
    expect((await sshPassword(env.access, 'echo space-back')).stdout.trim()).toBe('space-back');
    await until('the login after audited', async () => (await logins()) >= before + 4, { timeout: 20_000 });
    await stopChild(rig.relay);
    const db = createClient({ url: `file:${join(stateDir, 'state.db')}` });
    try {
      expect((await db.execute('PRAGMA integrity_check')).rows[0]?.[0]).toBe('ok');
      expect(Number((await db.execute('SELECT count(*) FROM routes')).rows[0]?.[0])).toBeGreaterThanOrEqual(1);
    } finally {
      db.close();
    }
    rig.startRelay();
    await rig.online();
    expect((await sshPassword(env.access, 'echo restarted')).stdout.trim()).toBe('restarted');
    await until('audited once each', async () => (await logins()) === before + 5, { timeout: 20_000 });
    writeFileSync(join(mnt, 'ok'), 'space is back');
  }, 150_000);
});
