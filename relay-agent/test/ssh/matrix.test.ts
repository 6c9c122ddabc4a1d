// The clients renters use × every target kind, as data: each cell is a test, and an N.A. cell checks that its reason holds.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Route } from '@remotegpu/schema';
import { dbclient, paramiko, plink, relayFingerprints } from './clients.ts';
import { Harness, run } from './harness.ts';
import { setupTargets, TARGETS } from './targets.ts';
import type { Feature, TargetRow } from './targets.ts';
import { Tmux } from './tmux.ts';

const h = new Harness();
let envs: Awaited<ReturnType<typeof setupTargets>>;
let fps: string[] = [];

beforeAll(async () => {
  await h.start();
  envs = await setupTargets(h);
  fps = await relayFingerprints(h);
}, 120_000);

afterAll(async () => {
  await h.stop();
  rmSync(h.dir, { recursive: true, force: true });
});

interface Ctx {
  row: TargetRow;
  route: Route;
  password: string;
  /** OpenSSH options and destination for this target. */
  ssh: string[];
  /** A fresh directory in the target for this cell. */
  dir: string;
}

interface Cell {
  /** The README row this cell backs. */
  client: string;
  /** A feature the target may lack: then the cell is N.A. with the row's reason. */
  needs?: Feature;
  test(c: Ctx): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

const CELLS: Cell[] = [
  {
    client: 'OpenSSH ssh: exec, exit codes with and without -tt',
    async test(c) {
      expect(await run('ssh', [...c.ssh, 'echo out; echo err >&2; exit 5'])).toMatchObject({
        code: 5,
        stdout: 'out\n',
        stderr: 'err\n',
      });
      const tt = await run('ssh', ['-tt', ...c.ssh, 'echo tty; exit 3']);
      expect({ code: tt.code, out: tt.stdout.replace(/\r/g, '') }).toEqual({ code: 3, out: 'tty\n' });
    },
  },
  {
    client: 'OpenSSH ssh: interactive shell with PTY',
    async test(c) {
      const t = new Tmux();
      await t.start(['ssh', '-tt', ...c.ssh].join(' '), 90, 25);
      try {
        await t.send('stty size; echo $((6*7))x');
        await t.waitFor(/25 90\s+42x/);
        await t.send('exit');
        for (let i = 0; i < 100 && (await t.alive()); i++) await sleep(50);
        expect(await t.alive()).toBe(false);
      } finally {
        await t.kill();
      }
    },
  },
  {
    client: 'OpenSSH ssh: ServerAliveInterval (keepalives answered)',
    async test(c) {
      const r = await run('ssh', [
        '-o',
        'ServerAliveInterval=1',
        '-o',
        'ServerAliveCountMax=1',
        ...c.ssh,
        'sleep 2; echo alive',
      ]);
      expect(r).toMatchObject({ code: 0, stdout: 'alive\n' });
    },
  },
  {
    client: 'paramiko: SFTP (the relay brings sftp-server where the image has none)',
    async test(c) {
      const r = await paramiko(c.route.ssh_port, c.password, ['sftp', c.dir]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ names: ['paramiko.txt'], back: 'hello from paramiko\n' });
    },
  },
  {
    client: 'PuTTY winadj@putty.projects.tartarus.org answered (paramiko sends it as PuTTY does)',
    async test(c) {
      const r = await paramiko(c.route.ssh_port, c.password, ['winadj', '20']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ sent: 20, answers: { success: 0, failure: 20 }, out: 'done\n', code: 3 });
    },
  },
  {
    client: 'PuTTY plink: batch exec and -t',
    async test(c) {
      const r = await plink(fps, c.route.ssh_port, c.password, ['echo out; echo err >&2; exit 6']);
      expect(r).toMatchObject({ code: 6, stdout: 'out\n' });
      expect(r.stderr).toContain('err\n');
      // Enough output for PuTTY to send winadj requests; -t with stdin at EOF must not cut it short.
      const out = join(h.dir, `plink-${c.route.environment_id}`);
      const t = await run(
        'sh',
        [
          '-c',
          `plink -ssh -batch -no-antispoof ${fps.map((f) => `-hostkey ${f}`).join(' ')} -P ${c.route.ssh_port} -l root -pw '${c.password}' -t 127.0.0.1 'seq 1 200000; exit 4' </dev/null >${out}; echo "code=$?"; tr -d '\\r' <${out} | awk 'END { print NR, $0 }'`,
        ],
        { timeoutMs: 60_000 },
      );
      expect(t.stdout).toBe('code=4\n200000 200000\n');
    },
  },
  {
    client: 'PuTTY pscp and psftp: copy both ways',
    async test(c) {
      const id = c.route.environment_id;
      const src = join(h.dir, `putty-src-${id}`);
      writeFileSync(src, randomBytes(1024 * 1024));
      const login = [
        ...fps.flatMap((f) => ['-hostkey', f]),
        '-P',
        String(c.route.ssh_port),
        '-l',
        'root',
        '-pw',
        c.password,
      ];
      const up = await run('pscp', ['-batch', '-q', ...login, src, `127.0.0.1:${c.dir}/pscp.bin`]);
      expect(up.code, up.stderr).toBe(0);
      const down = await run('pscp', ['-batch', '-q', ...login, `127.0.0.1:${c.dir}/pscp.bin`, `${src}.pscp`]);
      expect(down.code, down.stderr).toBe(0);
      const batch = join(h.dir, `psftp-${id}.txt`);
      writeFileSync(batch, `cd ${c.dir}\nput ${src} psftp.bin\nget psftp.bin ${src}.psftp\n`);
      const ps = await run('psftp', ['-batch', ...login, '-b', batch, '127.0.0.1']);
      expect(ps.code, ps.stderr).toBe(0);
      for (const copy of [`${src}.pscp`, `${src}.psftp`]) expect(sha256(copy)).toBe(sha256(src));
    },
  },
  {
    client: 'lftp over sftp: put and get',
    async test(c) {
      const id = c.route.environment_id;
      const src = join(h.dir, `lftp-src-${id}`);
      writeFileSync(src, randomBytes(1024 * 1024));
      // lftp runs OpenSSH itself (adding -p, -l and the sftp subsystem): our options without the port.
      const connect = ['ssh', '-a', '-x', ...h.sshOpts({ port: c.route.ssh_port }).slice(0, -2)].join(' ');
      const script = [
        `set sftp:connect-program "${connect}"`,
        'set net:max-retries 1',
        'set net:timeout 20',
        `open -u root, -p ${c.route.ssh_port} sftp://127.0.0.1`,
        `cd ${c.dir}`,
        `put ${src} -o lftp.bin`,
        `get lftp.bin -o ${src}.back`,
        'bye',
      ].join('; ');
      const r = await run('lftp', ['-c', script], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(sha256(`${src}.back`)).toBe(sha256(src));
    },
  },
  {
    client: "dropbear's dbclient: exec and -t",
    async test(c) {
      const r = await dbclient(c.route.ssh_port, c.password, ['echo out; echo err >&2; exit 9']);
      expect(r).toMatchObject({ code: 9, stdout: 'out\n' });
      expect(r.stderr).toContain('err\n');
      // dbclient -t needs a terminal of its own (it sets it raw): run it in tmux.
      const t = new Tmux();
      await t.start(
        `env DROPBEAR_PASSWORD='${c.password}' dbclient -y -y -t -p ${c.route.ssh_port} root@127.0.0.1 'tty; exit 2'; echo RC=$?; sleep 30`,
        90,
        25,
      );
      try {
        expect(await t.waitFor(/RC=\d/)).toMatch(/\/dev\/pts\/\d+\s+RC=2/);
      } finally {
        await t.kill();
      }
    },
  },
  {
    client: 'git clone and push over SSH to a bare repository inside',
    needs: 'git',
    async test(c) {
      const gitSsh = {
        GIT_SSH_COMMAND: `ssh ${c.ssh.slice(0, -1).join(' ')}`,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@x',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@x',
      };
      const url = `ssh://root@127.0.0.1:${c.route.ssh_port}${c.dir}/repo.git`;
      expect((await run('ssh', [...c.ssh, `git init -q --bare ${c.dir}/repo.git && echo ok`])).stdout).toBe('ok\n');
      const local = join(h.dir, `git-${c.route.environment_id}`);
      const git = (...args: string[]) => run('git', args, { env: gitSsh });
      expect(await git('clone', '-q', url, `${local}/a`)).toMatchObject({ code: 0 });
      writeFileSync(`${local}/a/hello.txt`, 'hello through the relay\n');
      await git('-C', `${local}/a`, 'add', 'hello.txt');
      await git('-C', `${local}/a`, 'commit', '-qm', 'first');
      const push = await git('-C', `${local}/a`, 'push', '-q', 'origin', 'HEAD');
      expect(push.code, push.stderr).toBe(0);
      const again = await git('clone', '-q', url, `${local}/b`);
      expect(again.code, again.stderr).toBe(0);
      expect((await run('cat', [`${local}/b/hello.txt`])).stdout).toBe('hello through the relay\n');
    },
  },
  {
    client: 'tmux kept across reconnects',
    needs: 'tmux',
    async test(c) {
      const sock = `rg${c.route.ssh_port}`;
      const child = spawn('ssh', ['-tt', ...c.ssh, `tmux -L ${sock} new-session -s keep 'sleep 1000'`], {
        stdio: ['pipe', 'ignore', 'ignore'],
        env: { ...process.env, TERM: 'xterm' },
      });
      try {
        let up = false;
        for (let i = 0; i < 50 && !up; i++, await sleep(100))
          up = (await run('ssh', [...c.ssh, `tmux -L ${sock} has-session -t keep`])).code === 0;
        expect(up).toBe(true);
        child.kill('SIGKILL'); // the connection dies with the client attached
        await sleep(1000);
        expect(await run('ssh', [...c.ssh, `tmux -L ${sock} list-sessions -F '#S'`])).toMatchObject({
          code: 0,
          stdout: 'keep\n',
        });
      } finally {
        child.kill('SIGKILL');
        await run('ssh', [...c.ssh, `tmux -L ${sock} kill-server`]);
      }
    },
  },
];

describe.each(TARGETS)('$name', (row) => {
  let n = 0;
  const ctx = async (): Promise<Ctx> => {
    const { route, password } = envs.get(row)!;
    const ssh = [...h.sshOpts({ port: route.ssh_port }), 'root@127.0.0.1'];
    const dir = `/tmp/matrix-${route.environment_id}-${n++}`;
    const r = await run('ssh', [...ssh, `mkdir -p ${dir} && echo ok`]);
    expect(r.stdout, r.stderr).toBe('ok\n');
    return { row, route, password, ssh, dir };
  };
  for (const cell of CELLS) {
    const na = cell.needs ? row.na[cell.needs] : undefined;
    if (na) {
      it(`${cell.client}: N.A. (${na.reason})`, async () => {
        const c = await ctx();
        expect((await run('ssh', [...c.ssh, na.probe])).code).toBe(0);
      });
    } else {
      it(cell.client, async () => cell.test(await ctx()));
    }
  }
});
