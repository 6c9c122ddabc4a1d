// What the operator sees: each SSH bridge failure is one warn line in the relay's log with env_id, the reason and
// the renter's address, while the renter gets the reason on stderr and exit status 255.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines } from './fakes.ts';
import { Harness, run } from './harness.ts';

const h = new Harness();

beforeAll(async () => {
  await h.start();
}, 60_000);

afterAll(async () => {
  await h.stop();
  rmSync(h.dir, { recursive: true, force: true });
});

const linesFor = (envId: string, since: number) =>
  logLines.slice(since).filter((l) => l.env_id === envId && (l.level === 'warn' || l.level === 'error'));

describe('bridge failures in the relay log', () => {
  it('an unreachable target: the renter sees why, the log has one line with env_id, reason and peer', async () => {
    const dead = h.addRoute({ type: 'physical', target: { kind: 'ssh', ip: '127.0.0.2', port: 1, host_key: null } });
    const since = logLines.length;
    const r = await h.ssh(dead.route.ssh_port, 'root', ['true'], { from: '127.0.0.41' });
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/remotegpu: cannot reach the target/);
    const lines = linesFor(dead.route.environment_id, since).filter(
      (l) => l.msg !== 'upstream host key not pinned: accepting the key the target offers',
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      peer: '127.0.0.41',
      kind: 'exec',
      reason: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('a forward to a closed port: one warn line naming the destination', async () => {
    const s = h.services;
    const phys = h.addRoute({
      type: 'physical',
      target: { kind: 'ssh', ip: s.REMOTEGPU_PHYSICAL_HOST, port: Number(s.REMOTEGPU_PHYSICAL_PORT), host_key: null },
    });
    const since = logLines.length;
    // -W is a stdio forward (direct-tcpip) to a port nothing listens on inside the target.
    const r = await run('ssh', [
      ...h.sshOpts({ port: phys.route.ssh_port }),
      '-b',
      '127.0.0.42',
      '-W',
      '127.0.0.1:1',
      'root@127.0.0.1',
    ]);
    expect(r.code).not.toBe(0);
    const refused = linesFor(phys.route.environment_id, since).filter((l) => l.msg === 'ssh forward refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      level: 'warn',
      peer: '127.0.0.42',
      dest: '127.0.0.1:1',
      reason: expect.any(String),
    });
  });
});
