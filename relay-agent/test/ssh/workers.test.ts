// The gateway with 2 SSH workers (real OpenSSH clients): a lockout reached through one worker holds on the other, and
// every audit event is written once, by the primary, naming the worker that served the connection.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord, Route } from '@remotegpu/schema';
import { Harness } from './harness.ts';

const h = new Harness();
let phys: { route: Route; password: string };

beforeAll(async () => {
  await h.start({ lockMs: 60_000, maxFailures: 4, maxFailuresPerSource: 100 }, { workers: 2 });
  const s = h.services;
  phys = h.addRoute({
    type: 'physical',
    target: { kind: 'ssh', ip: s.REMOTEGPU_PHYSICAL_HOST, port: Number(s.REMOTEGPU_PHYSICAL_PORT), host_key: null },
  });
}, 60_000);

afterAll(async () => {
  await h.stop();
  rmSync(h.dir, { recursive: true, force: true });
});

const workerOf = (e: AuditRecord) => (e.detail as { worker?: number }).worker;

describe('ssh workers', () => {
  it('keeps one set of lockout counters: failures through both workers lock the source on both', async () => {
    const ip = '127.0.0.61';
    const since = h.audit.events.length;
    // Connections go to the workers in turn: the 4 failures (maxFailures) are split between them, so neither worker
    // alone has seen enough to lock; only counters shared by both can.
    for (let i = 0; i < 4; i++) await h.ssh(phys.route.ssh_port, 'root', ['true'], { password: `nope-${i}`, from: ip });
    const fails = h.audit.events.slice(since).filter((e) => e.source_ip === ip && e.status === 'failure');
    expect(fails).toHaveLength(4);
    expect(new Set(fails.map(workerOf))).toEqual(new Set([0, 1]));

    // The right password now: refused through whichever worker takes each of the next connections.
    const after = h.audit.events.length;
    for (let i = 0; i < 2; i++) {
      const r = await h.ssh(phys.route.ssh_port, 'root', ['echo in'], { password: phys.password, from: ip });
      expect(r.code).not.toBe(0);
    }
    const locked = h.audit.events.slice(after).filter((e) => e.source_ip === ip);
    // (ssh tries password, then keyboard-interactive: two refusals a connection.)
    expect(locked.length).toBeGreaterThanOrEqual(2);
    expect(locked.every((e) => e.status === 'locked')).toBe(true);
    expect(new Set(locked.map(workerOf))).toEqual(new Set([0, 1]));

    // The owner from another address is not locked out (the lock is per source and environment).
    expect(
      (await h.ssh(phys.route.ssh_port, 'root', ['echo in'], { password: phys.password, from: '127.0.0.62' })).stdout,
    ).toBe('in\n');
  });

  it('writes every login and logout once, from both workers', async () => {
    const ip = '127.0.0.63';
    const since = h.audit.events.length;
    for (let i = 0; i < 4; i++)
      expect((await h.ssh(phys.route.ssh_port, 'root', [`echo ${i}`], { from: ip })).stdout).toBe(`${i}\n`);
    const mine = (event: string) =>
      h.audit.events.slice(since).filter((e) => e.source_ip === ip && e.event === event && e.status === 'success');
    const until = Date.now() + 10_000;
    while (mine('ssh_logout').length < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive by now
    const logins = mine('ssh_login');
    const logouts = mine('ssh_logout');
    const connId = (e: AuditRecord) => (e.detail as { conn_id: string }).conn_id;
    expect(logins).toHaveLength(4);
    expect(logouts).toHaveLength(4);
    expect(new Set(logins.map(connId)).size).toBe(4);
    expect(new Set(logouts.map(connId))).toEqual(new Set(logins.map(connId)));
    expect(new Set(logins.map(workerOf))).toEqual(new Set([0, 1]));
    for (const l of logins) expect(workerOf(logouts.find((o) => connId(o) === connId(l))!)).toBe(workerOf(l));
  });
});
