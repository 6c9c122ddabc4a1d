// Authentication and routing through the relay: keys, passwords, keyboard-interactive, lockouts, shared-port usernames.
import net from 'node:net';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Route } from '@remotegpu/schema';
import { hashPassword } from './fakes.ts';
import { Harness, run } from './harness.ts';

// A short lock so that the test can wait it out; each rejection test comes from its own loopback address.
const LOCK_MS = 2500;
const h = new Harness();
let phys: { route: Route; password: string };
let other: { route: Route; password: string };
let box: { route: Route; password: string };
let fromN = 10;
const from = () => `127.0.0.${fromN++}`;

beforeAll(async () => {
  await h.start({
    lockMs: LOCK_MS,
    maxFailures: 5,
    maxFailuresPerSource: 12,
    loginGraceMs: 1500,
    maxUnauthenticated: 20,
  });
  const s = h.services;
  const target = {
    kind: 'ssh' as const,
    ip: s.REMOTEGPU_PHYSICAL_HOST,
    port: Number(s.REMOTEGPU_PHYSICAL_PORT),
    host_key: null,
  };
  phys = h.addRoute({ type: 'physical', target });
  other = h.addRoute({ type: 'physical', target });
  const busybox = await h.container(s.REMOTEGPU_TEST_BUSYBOX_IMAGE, { cmd: ['sleep', '100000'] });
  box = h.addRoute({ type: 'container', target: { kind: 'docker', container_id: busybox.id } });
}, 60_000);

afterAll(async () => {
  await h.stop();
  rmSync(h.dir, { recursive: true, force: true });
});

const lastLogin = (username: string) =>
  [...h.audit.events].reverse().find((e) => e.event === 'ssh_login' && e.username === username);

describe('authentication', () => {
  it('accepts the owner key, a password and keyboard-interactive', async () => {
    expect((await h.ssh(phys.route.ssh_port, 'root', ['echo key'])).stdout).toBe('key\n');
    expect((await h.ssh(phys.route.ssh_port, 'root', ['echo pw'], { password: phys.password })).stdout).toBe('pw\n');
    expect(
      (await h.ssh(phys.route.ssh_port, 'root', ['echo kbd'], { password: phys.password, kbd: true })).stdout,
    ).toBe('kbd\n');
    const methods = h.audit.events
      .filter((e) => e.status === 'success')
      .map((e) => (e.detail as { method: string }).method);
    expect(methods).toEqual(expect.arrayContaining(['publickey', 'password', 'keyboard-interactive']));
  });

  it('rejects a wrong password, a wrong key and an empty password, and audits each', async () => {
    const cases: [Parameters<Harness['ssh']>[3], string][] = [
      [{ password: 'wrong-password', from: from() }, 'bad_password'],
      [{ key: h.strangerKey, from: from() }, 'unknown_key'],
      [{ password: '', from: from() }, 'empty_password'],
    ];
    for (const [o, reason] of cases) {
      const since = h.audit.events.length;
      const r = await h.ssh(phys.route.ssh_port, 'root', ['echo in'], o);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      const e = await h.audit.waitFor((x) => x.event === 'ssh_login' && x.status === 'failure', since);
      expect(e).toMatchObject({
        environment_id: phys.route.environment_id,
        source_ip: o!.from,
        username: 'root',
        detail: { reason },
      });
    }
  });

  it("never opens environment B with environment A's password", async () => {
    const r = await h.ssh(other.route.ssh_port, 'root', ['echo in'], { password: phys.password, from: from() });
    expect(r.code).not.toBe(0);
    expect(lastLogin('root')).toMatchObject({ environment_id: other.route.environment_id, status: 'failure' });
  });

  it('stops accepting a rotated password at once', async () => {
    const fresh = 'rotated-password-0123456789';
    h.routes.upsert({ ...phys.route, password_hash: hashPassword(fresh) });
    expect(
      (await h.ssh(phys.route.ssh_port, 'root', ['true'], { password: phys.password, from: from() })).code,
    ).not.toBe(0);
    expect((await h.ssh(phys.route.ssh_port, 'root', ['echo ok'], { password: fresh })).stdout).toBe('ok\n');
    h.routes.upsert(phys.route);
  });

  it('locks after 5 failures from one address: that address is refused until the lock expires', async () => {
    const ip = from();
    for (let i = 0; i < 5; i++)
      await h.ssh(other.route.ssh_port, 'root', ['true'], { password: `nope-${i}`, from: ip });
    const locked = await h.ssh(other.route.ssh_port, 'root', ['echo in'], { password: other.password, from: ip });
    expect(locked.code).not.toBe(0);
    expect(lastLogin('root')).toMatchObject({
      status: 'locked',
      environment_id: other.route.environment_id,
      source_ip: ip,
    });
    await new Promise((r) => setTimeout(r, LOCK_MS + 200));
    expect(
      (await h.ssh(other.route.ssh_port, 'root', ['echo in'], { password: other.password, from: ip })).stdout,
    ).toBe('in\n');
  });

  it('never locks the owner out: an attack from one address leaves a password and a key from another working', async () => {
    const attacker = from();
    const since = h.audit.events.length;
    for (let i = 0; i < 6; i++)
      await h.ssh(other.route.ssh_port, 'root', ['true'], { password: `guess-${i}`, from: attacker });
    expect(
      (await h.ssh(other.route.ssh_port, 'root', ['echo in'], { password: other.password, from: attacker })).code,
    ).not.toBe(0);
    const owner = from();
    expect(
      (await h.ssh(other.route.ssh_port, 'root', ['echo in'], { password: other.password, from: owner })).stdout,
    ).toBe('in\n');
    expect((await h.ssh(box.route.ssh_port, 'root', ['echo key'], { from: owner })).stdout).toBe('key\n');
    // The audit trail still shows the attack: five counted failures, then refusals while locked.
    const trail = h.audit.events.slice(since).filter((e) => e.source_ip === attacker);
    expect(trail.filter((e) => e.status === 'failure').length).toBe(5);
    expect(trail.filter((e) => e.status === 'locked').length).toBeGreaterThanOrEqual(2);
    expect(
      h.audit.events
        .slice(since)
        .some(
          (e) => e.source_ip === owner && e.status === 'success' && e.environment_id === other.route.environment_id,
        ),
    ).toBe(true);
  });

  it('locks a source that sprays many environments (per-source limit) without touching those environments', async () => {
    const scanner = from();
    for (let i = 0; i < 4; i++)
      await h.ssh(phys.route.ssh_port, 'root', ['true'], { password: `scan-a-${i}`, from: scanner });
    for (let i = 0; i < 4; i++)
      await h.ssh(other.route.ssh_port, 'root', ['true'], { password: `scan-b-${i}`, from: scanner });
    for (let i = 0; i < 4; i++)
      await h.ssh(h.sharedPort, `zzzzzzzzzzzzzz${i}${i}`, ['true'], { password: 'scan', from: scanner });
    // 12 failures here, none reaching 5 on one environment; the per-source budget of this harness is 12.
    expect((await h.ssh(box.route.ssh_port, 'root', ['echo in'], { from: scanner })).code).not.toBe(0);
    expect(lastLogin('root')).toMatchObject({ status: 'locked', source_ip: scanner });
    expect(
      (await h.ssh(phys.route.ssh_port, 'root', ['echo in'], { password: phys.password, from: from() })).stdout,
    ).toBe('in\n');
  });
});

describe('routing', () => {
  it('routes the shared port by username: <envid> as root, <user>.<envid> as that user', async () => {
    expect((await h.ssh(h.sharedPort, phys.route.environment_id, ['whoami'], { password: phys.password })).stdout).toBe(
      'root\n',
    );
    expect((await h.ssh(h.sharedPort, box.route.environment_id, ['whoami'])).stdout).toBe('root\n');
    expect((await h.ssh(h.sharedPort, `nobody.${box.route.environment_id}`, ['whoami'])).stdout).toBe('nobody\n');
  });

  it('fails unknown environments and ports at authentication like a wrong password', async () => {
    const wrong = await h.ssh(phys.route.ssh_port, 'root', ['true'], { password: 'not-it', from: from() });
    const since = h.audit.events.length;
    const r1 = await h.ssh(h.sharedPort, 'zzzzzzzzzzzzzzzz', ['true'], { password: phys.password, from: from() });
    const r2 = await h.ssh(h.sharedPort, 'root', ['true'], { password: phys.password, from: from() });
    for (const r of [r1, r2]) expect(r).toEqual(wrong);
    const fails = h.audit.events.slice(since).filter((e) => e.status === 'failure');
    expect(fails.map((e) => e.environment_id)).toEqual([null, null]);
  });

  it('refuses a stopped environment with a clear message', async () => {
    h.routes.upsert({ ...box.route, running: false });
    const r = await h.ssh(box.route.ssh_port, 'root', ['true']);
    h.routes.upsert(box.route);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('is not running');
  });

  it('closes the port of a removed environment', async () => {
    const gone = h.addRoute({ type: 'physical', target: null });
    await new Promise((r) => setTimeout(r, 100));
    expect(h.gateway.listeningPorts()).toContain(gone.route.ssh_port);
    h.routes.remove(gone.route.environment_id);
    await new Promise((r) => setTimeout(r, 100));
    expect(h.gateway.listeningPorts()).not.toContain(gone.route.ssh_port);
    const r = await h.ssh(gone.route.ssh_port, 'root', ['true']);
    expect(r.stderr).toMatch(/Connection refused/);
  });
});

describe('transport', () => {
  it('negotiates strict KEX and gives an OpenSSH client no warnings', async () => {
    const r = await run('ssh', [
      ...h.sshOpts({ port: phys.route.ssh_port }).map((o) => (o === 'LogLevel=ERROR' ? 'LogLevel=DEBUG3' : o)),
      'root@127.0.0.1',
      'true',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('will use strict KEX ordering');
    const quiet = await run('ssh', [
      ...h.sshOpts({ port: phys.route.ssh_port }).map((o) => (o === 'LogLevel=ERROR' ? 'LogLevel=INFO' : o)),
      'root@127.0.0.1',
      'true',
    ]);
    expect(quiet.stderr).toBe('');
  });

  it('drops connections that do not authenticate within the login grace time', async () => {
    const s = net.connect({ host: '127.0.0.1', port: phys.route.ssh_port }).resume();
    const t0 = Date.now();
    await new Promise<void>((resolve) => s.on('close', () => resolve()).on('error', () => undefined));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('caps unauthenticated connections: beyond the cap a new one is closed at once', async () => {
    const idle = Array.from({ length: 20 }, () =>
      net
        .connect({ host: '127.0.0.1', port: phys.route.ssh_port })
        .resume()
        .on('error', () => undefined),
    );
    await Promise.all(idle.map((s) => new Promise((r) => s.once('data', r))));
    const extra = net
      .connect({ host: '127.0.0.1', port: phys.route.ssh_port })
      .resume()
      .on('error', () => undefined);
    const t0 = Date.now();
    await new Promise((r) => extra.once('close', r));
    expect(Date.now() - t0).toBeLessThan(1000);
    for (const s of idle) s.destroy();
  });
});
