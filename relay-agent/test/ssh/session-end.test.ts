// Sessions through the relay behave like sshd's: PTY commands and stdin EOF, and the hang-up when the renter goes.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, run } from './harness.ts';
import { setupTargets, TARGETS } from './targets.ts';
import { Tmux } from './tmux.ts';

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(TARGETS.map((row, i) => ({ ...row, n: i + 1 })))('$name', (row) => {
  const port = () => envs.get(TARGETS[row.n - 1]!)!.route.ssh_port;
  const opts = () => [...h.sshOpts({ port: port() }), 'root@127.0.0.1'];
  // Unique per row: the physical machine sees the containers' processes too.
  const marker = (k: number) => `${row.n}${k}7`;
  /** How many processes in the target have a command line starting with `prefix` (works in busybox and bash). */
  const count = async (prefix: string) => {
    const r = await h.ssh(port(), 'root', [
      `for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^${prefix}' || true`,
    ]);
    return Number(r.stdout.trim());
  };
  const waitCount = async (prefix: string, want: number, ms = 8000) => {
    const end = Date.now() + ms;
    let n = await count(prefix);
    while (n !== want && Date.now() < end) {
      await sleep(200);
      n = await count(prefix);
    }
    return n;
  };
  const killAfterStart = async (child: ChildProcess, prefix: string) => {
    expect(await waitCount(prefix, 1)).toBe(1);
    child.kill('SIGKILL');
  };

  // 8 at a time, to meet the race more often; sshd's MaxStartups (10) drops some logins beyond that, relay or not.
  it('ssh -tt: a command that exits at once returns its code at once (8 at a time)', async () => {
    const t0 = Date.now();
    const rs = await Promise.all(
      Array.from({ length: 8 }, () => run('ssh', ['-tt', ...opts(), 'exit 1'], { timeoutMs: 10_000 })),
    );
    expect(
      rs.map((r) => r.code),
      rs.map((r) => r.stderr).join(''),
    ).toEqual(Array(8).fill(1));
    expect(Date.now() - t0).toBeLessThan(8000);
  });

  it('ssh -tt with stdin at EOF: all 300000 lines of seq, and a sleeping command runs to its end', async () => {
    const r = await run(
      'sh',
      ['-c', `ssh -tt ${opts().join(' ')} 'seq 1 300000' </dev/null | tr -d '\\r' | awk 'END { print NR, $0 }'`],
      { timeoutMs: 60_000 },
    );
    expect(r.stdout).toBe('300000 300000\n');
    const t0 = Date.now();
    const s = await run('sh', ['-c', `ssh -tt ${opts().join(' ')} 'sleep 2; echo slept' </dev/null`], {
      timeoutMs: 20_000,
    });
    expect({ code: s.code, out: s.stdout.replace(/\r/g, '') }).toEqual({ code: 0, out: 'slept\n' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
  });

  it('without a PTY, the end of stdin reaches the command', async () => {
    const r = await h.ssh(port(), 'root', ['wc -c'], { input: 'abc' });
    expect({ code: r.code, out: r.stdout.trim() }).toEqual({ code: 0, out: '3' });
  });

  it('client killed (SIGKILL): a PTY command and a non-PTY writer end, like under sshd', async () => {
    const pty = spawn('ssh', ['-tt', ...opts(), `sleep ${marker(1)}`], { stdio: ['pipe', 'ignore', 'ignore'] });
    await killAfterStart(pty, `sleep ${marker(1)}`);
    const writer = spawn('ssh', [...opts(), `sh -c 'while :; do echo tick; sleep 0.1; done' w${marker(2)}`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    await killAfterStart(writer, `sh -c while :; do echo tick; sleep 0.1; done w${marker(2)}`);
    expect(await waitCount(`sleep ${marker(1)}`, 0)).toBe(0);
    expect(await waitCount(`sh -c while :; do echo tick; sleep 0.1; done w${marker(2)}`, 0)).toBe(0);
  });

  it('`~.` in an interactive shell: the shell and its child end', async () => {
    const t = new Tmux();
    await t.start(['ssh', '-tt', ...opts()].join(' '), 100, 30);
    try {
      await t.send('echo READY$((40+2))');
      await t.waitFor(/READY42/);
      await t.send(`sleep ${marker(3)}`);
      expect(await waitCount(`sleep ${marker(3)}`, 1)).toBe(1);
      await t.type('~.');
      for (let i = 0; i < 100 && (await t.alive()); i++) await sleep(50);
      expect(await waitCount(`sleep ${marker(3)}`, 0)).toBe(0);
    } finally {
      await t.kill();
    }
  });

  it('client killed: setsid and nohup-style (SIGHUP ignored) children survive, the rest of the session ends', async () => {
    const [a, b, c] = [marker(4), marker(5), marker(6)];
    // setsid is util-linux's (busybox has one too); an image without it gets python's os.setsid().
    const newSession = `if command -v setsid >/dev/null; then exec setsid sleep ${a}; fi; exec python3 -c 'import os; os.setsid(); os.execvp("sleep", ["sleep", "${a}"])'`;
    const cmd = `(${newSession}) </dev/null >/dev/null 2>&1 & (trap '' HUP; exec sleep ${b}) </dev/null >/dev/null 2>&1 & sleep ${c}`;
    const child = spawn('ssh', ['-tt', ...opts(), cmd], { stdio: ['pipe', 'ignore', 'ignore'] });
    await killAfterStart(child, `sleep ${c}`);
    try {
      expect(await waitCount(`sleep ${c}`, 0)).toBe(0);
      expect(await count(`sleep ${a}`)).toBe(1);
      expect(await count(`sleep ${b}`)).toBe(1);
    } finally {
      await h.ssh(port(), 'root', [
        `for p in /proc/[0-9]*; do case "$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)" in "sleep ${a} "|"sleep ${b} ") kill \${p#/proc/};; esac; done`,
      ]);
    }
  });
});
