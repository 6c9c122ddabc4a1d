// Exit status and exit signal through the relay, every time: many channels on one connection, with and without PTY.
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Route } from '@remotegpu/schema';
import { paramiko } from './clients.ts';
import { Harness, run } from './harness.ts';
import { setupTargets, TARGETS } from './targets.ts';

const h = new Harness();
let envs: Awaited<ReturnType<typeof setupTargets>>;

beforeAll(async () => {
  await h.start();
  envs = await setupTargets(h);
}, 120_000);

afterAll(async () => {
  await h.stop();
  rmSync(h.dir, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  signal?: string;
  out: string;
}

/** One ssh2 Client connection (a Node renter tool), for the `signal` request OpenSSH's CLI cannot send. */
function node(route: Route, password: string): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c)).once('error', reject);
    c.connect({ host: '127.0.0.1', port: route.ssh_port, username: 'root', password, readyTimeout: 15_000 });
  });
}

function execOn(
  c: ssh2.Client,
  cmd: string,
  o: { pty: boolean; signalAfterMs?: number; signal?: string },
): Promise<Exit> {
  return new Promise((resolve, reject) => {
    c.exec(cmd, { pty: o.pty }, (err, ch) => {
      if (err) return reject(err);
      let out = '';
      const res: Exit = { code: null, out: '' };
      ch.on('data', (d: Buffer) => (out += d.toString()));
      ch.stderr.on('data', (d: Buffer) => (out += d.toString()));
      ch.on('exit', (code: number | null, signal?: string) => Object.assign(res, { code, signal }));
      ch.on('close', () => resolve({ ...res, out }));
      if (o.signal) setTimeout(() => ch.signal(o.signal!), o.signalAfterMs ?? 500);
    });
  });
}

describe.each(TARGETS)('$name', (row) => {
  const env = () => envs.get(row)!;

  it('8 parallel ssh sessions over one ControlMaster connection, 5 rounds: every one exits 7', async () => {
    const sock = join(h.dir, `cm-${env().route.ssh_port}`);
    const base = [...h.sshOpts({ port: env().route.ssh_port }), '-o', `ControlPath=${sock}`];
    const master = spawn('ssh', [...base, '-o', 'ControlMaster=yes', '-N', 'root@127.0.0.1'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      const codes: (number | null)[] = [];
      for (let round = 0; round < 5; round++) {
        const rs = await Promise.all(
          Array.from({ length: 8 }, () =>
            run('ssh', [...base, '-o', 'ControlMaster=no', 'root@127.0.0.1', 'printf x; exit 7']),
          ),
        );
        for (const r of rs) expect(r.stdout, r.stderr).toBe('x');
        codes.push(...rs.map((r) => r.code));
      }
      expect(codes).toEqual(Array(40).fill(7));
    } finally {
      master.kill();
    }
  });

  it('paramiko: 120 exec channels on one transport, 16 at a time, every other one with a PTY: each returns its own exit code', async () => {
    const r = await paramiko(env().route.ssh_port, env().password, ['exec', '120']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ channels: 120, bad: [] });
  });

  // OpenSSH's sshd honours `signal` only with privilege separation, which it skips for root logins (session.c):
  // on sshd targets the command runs on, as it would without the relay. Exec targets deliver it as sshd would.
  it(
    row.exec
      ? 'a signal request ends the command with that exit signal, with and without PTY'
      : 'a signal request for root is ignored, as sshd does, with and without PTY',
    async () => {
      const c = await node(env().route, env().password);
      try {
        for (const pty of [false, true]) {
          if (!row.exec) {
            expect(await execOn(c, 'sleep 1; exit 4', { pty, signal: 'TERM', signalAfterMs: 300 })).toMatchObject({
              code: 4,
            });
            continue;
          }
          const term = await execOn(c, 'sleep 30', { pty, signal: 'TERM', signalAfterMs: 500 });
          expect(term).toMatchObject({ code: null, signal: 'SIGTERM' });
          const usr1 = await execOn(c, 'sleep 30', { pty, signal: 'USR1', signalAfterMs: 500 });
          expect(usr1).toMatchObject({ code: null, signal: 'SIGUSR1' });
          expect(await execOn(c, 'exit 3', { pty })).toMatchObject({ code: 3 });
        }
      } finally {
        c.end();
      }
    },
  );

  it('a command killed by a signal from inside reports it as sshd does (exec targets: 128+n, as docker exec does)', async () => {
    const c = await node(env().route, env().password);
    try {
      const r = await execOn(c, 'kill -KILL $$', { pty: false });
      // Docker's exit code cannot tell a signal from `exit 137`; the relay reports it as `docker exec` does.
      if (row.exec) expect(r).toMatchObject({ code: 137 });
      else expect(r).toMatchObject({ code: null, signal: 'SIGKILL' });
    } finally {
      c.end();
    }
  });
});
