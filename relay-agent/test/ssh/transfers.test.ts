// Through the relay with the real OpenSSH client: shells, exit codes, scp/sftp/rsync/-L with 64 MiB, resize, recording.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Route } from '@remotegpu/schema';
import { Harness, run, waitForPort } from './harness.ts';
import { Tmux } from './tmux.ts';

const h = new Harness();
const BIG = join(h.dir, 'big');
let bigSha = '';

interface Case {
  name: string;
  route: () => Route;
  http: number; // port of an httpd inside the target serving the remote dir, for ssh -L
}
const routes: Record<string, Route> = {};
const remote = `${h.dir}/remote`;
let hostHttpdPid = 0;

const cases: Case[] = [
  { name: 'sshd container (upstream ssh)', route: () => routes.sshd!, http: 8080 },
  { name: 'sshd image via docker exec', route: () => routes.exec!, http: 8081 },
  // No sftp-server, scp or rsync in the image: the relay brings its own (tool-bundle.ts).
  { name: 'busybox container (docker exec, no sshd)', route: () => routes.busybox!, http: 8080 },
  { name: 'physical machine (loopback sshd)', route: () => routes.physical!, http: h.portBase + 98 },
];

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

beforeAll(async () => {
  const fd = openSync(BIG, 'w');
  for (let i = 0; i < 64; i++) writeSync(fd, randomBytes(1024 * 1024));
  closeSync(fd);
  bigSha = await sha256File(BIG);
  await h.start();
  const s = h.services;
  const [sshd, busybox] = await Promise.all([
    h.container(s.REMOTEGPU_TEST_SSHD_IMAGE, { env: [`SSH_AUTHORIZED_KEYS=${h.platformPublic}`], readyPort: 22 }),
    h.container(s.REMOTEGPU_TEST_BUSYBOX_IMAGE, { cmd: ['sleep', '100000'] }),
  ]);
  const imageKey = readFileSync(s.REMOTEGPU_TEST_KNOWN_HOSTS, 'utf8').trim();
  const physKey = readFileSync(s.REMOTEGPU_PHYSICAL_KNOWN_HOSTS, 'utf8').trim();
  routes.sshd = h.addRoute({
    type: 'container',
    target: { kind: 'ssh', ip: sshd.ip, port: 22, host_key: imageKey },
    target_ip: sshd.ip,
  }).route;
  routes.exec = h.addRoute({
    type: 'container',
    target: { kind: 'docker', container_id: sshd.id },
    target_ip: sshd.ip,
  }).route;
  routes.busybox = h.addRoute({
    type: 'container',
    target: { kind: 'docker', container_id: busybox.id },
    target_ip: busybox.ip,
    recording: true,
  }).route;
  routes.physical = h.addRoute({
    type: 'physical',
    recording: true,
    target: { kind: 'ssh', ip: s.REMOTEGPU_PHYSICAL_HOST, port: Number(s.REMOTEGPU_PHYSICAL_PORT), host_key: physKey },
  }).route;
  for (const c of cases) {
    const r = await h.ssh(c.route().ssh_port, 'root', [`mkdir -p ${remote} && echo ready`]);
    expect(r.stdout.trim(), r.stderr).toBe('ready');
  }
}, 120_000);

afterAll(async () => {
  if (hostHttpdPid) process.kill(hostHttpdPid, 'SIGTERM');
  await h.stop();
  rmSync(h.dir, { recursive: true, force: true });
});

describe.each(cases)('$name', (c) => {
  const port = () => c.route().ssh_port;
  const opts = () => h.sshOpts({ port: port() });
  const scpOpts = () => opts().map((o) => (o === '-p' ? '-P' : o));
  const dst = (name: string) => `root@127.0.0.1:${remote}/${name}`;
  const local = (name: string) => join(h.dir, `${c.route().environment_id}-${name}`);
  const remoteSha = async (name: string) =>
    (await h.ssh(port(), 'root', [`sha256sum ${remote}/${name}`])).stdout.split(' ')[0];

  it('runs a command, keeping stdout, stderr and the exit code apart', async () => {
    const since = h.audit.events.length;
    const r = await h.ssh(port(), 'root', ['echo out; echo err >&2; exit 7']);
    expect(r).toMatchObject({ code: 7, stdout: 'out\n', stderr: 'err\n' });
    const logout = await h.audit.waitFor(
      (e) => e.event === 'ssh_logout' && e.environment_id === c.route().environment_id,
      since,
    );
    expect(logout.detail).toMatchObject({ bytes_out: 8 });
  });

  it('gives an interactive shell a PTY that follows resizes (stty size)', async () => {
    const t = new Tmux();
    await t.start(['ssh', '-tt', ...opts(), 'root@127.0.0.1'].join(' '), 100, 30);
    try {
      await t.send('stty size; echo $((6*7))x');
      await t.waitFor(/30 100\n42x/);
      await t.resize(120, 40);
      await t.send('stty size');
      await t.waitFor(/40 120/);
      await t.send('exit');
      for (let i = 0; i < 100 && (await t.alive()); i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await t.kill();
    }
    if (c.route().recording) {
      const rec = h.recordings.items.find((x) => x.environment_id === c.route().environment_id);
      expect(rec).toBeDefined();
      const lines = rec!.cast
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
      expect(lines[0]).toMatchObject({ version: 2, width: 100, height: 30 });
      expect(lines).toContainEqual([expect.any(Number), 'r', '120x40']);
      expect(rec!.cast).toContain('42x');
    }
  });

  it('moves 64 MiB both ways with ssh cat', async () => {
    const up = await run('sh', ['-c', `ssh ${opts().join(' ')} root@127.0.0.1 'cat > ${remote}/cat' < ${BIG}`], {
      timeoutMs: 60_000,
    });
    expect(up.code, up.stderr).toBe(0);
    expect(await remoteSha('cat')).toBe(bigSha);
    const down = await run(
      'sh',
      ['-c', `ssh ${opts().join(' ')} root@127.0.0.1 'cat ${remote}/cat' > ${local('cat')}`],
      { timeoutMs: 60_000 },
    );
    expect(down.code, down.stderr).toBe(0);
    expect(await sha256File(local('cat'))).toBe(bigSha);
  });

  it('scp (SFTP mode) and scp -O (legacy) move 64 MiB both ways', async () => {
    for (const mode of [[], ['-O']]) {
      const name = `scp${mode.join('')}`;
      const up = await run('scp', [...mode, ...scpOpts(), BIG, dst(name)], { timeoutMs: 60_000 });
      expect(up.code, up.stderr).toBe(0);
      expect(await remoteSha(name)).toBe(bigSha);
      const down = await run('scp', [...mode, ...scpOpts(), dst(name), local(name)], { timeoutMs: 60_000 });
      expect(down.code, down.stderr).toBe(0);
      expect(await sha256File(local(name))).toBe(bigSha);
    }
  });

  it('sftp puts and gets 64 MiB', async () => {
    const batch = `put ${BIG} ${remote}/sftp\nget ${remote}/sftp ${local('sftp')}\n`;
    const r = await run('sftp', [...scpOpts(), '-b', '-', 'root@127.0.0.1'], { input: batch, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(await remoteSha('sftp')).toBe(bigSha);
    expect(await sha256File(local('sftp'))).toBe(bigSha);
  });

  it('rsync -e ssh moves 64 MiB both ways', async () => {
    const e = ['-e', `ssh ${opts().join(' ')}`];
    const up = await run('rsync', [...e, BIG, dst('rsync')], { timeoutMs: 60_000 });
    expect(up.code, up.stderr).toBe(0);
    expect(await remoteSha('rsync')).toBe(bigSha);
    const down = await run('rsync', [...e, dst('rsync'), local('rsync')], { timeoutMs: 60_000 });
    expect(down.code, down.stderr).toBe(0);
    expect(await sha256File(local('rsync'))).toBe(bigSha);
  });

  it('ssh -L reaches a port inside the target (64 MiB over HTTP)', async () => {
    const isHost = c.route().type === 'physical';
    const serve = `cp ${remote}/cat ${remote}/web; `; // uploaded by the ssh cat test above
    if (isHost) {
      const r = await h.ssh(port(), 'root', [
        `${serve}busybox httpd -f -p 127.0.0.1:${c.http} -h ${remote} </dev/null >/dev/null 2>&1 & echo $!`,
      ]);
      hostHttpdPid = Number(r.stdout.trim());
    } else {
      const r = await h.ssh(port(), 'root', [`${serve}httpd -p ${c.http} -h ${remote} && echo started`]);
      expect(r.stdout, r.stderr).toContain('started');
    }
    const lport = h.portBase + 90 + cases.indexOf(c);
    const fwd = spawn(
      'ssh',
      [
        ...opts(),
        '-N',
        '-o',
        'ExitOnForwardFailure=yes',
        '-L',
        `127.0.0.1:${lport}:localhost:${c.http}`,
        'root@127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    try {
      await waitForPort('127.0.0.1', lport);
      let got = '';
      for (let i = 0; i < 20 && got !== bigSha; i++) {
        const r = await run('sh', ['-c', `curl -sf http://127.0.0.1:${lport}/web | sha256sum`], { timeoutMs: 60_000 });
        got = r.stdout.split(' ')[0] ?? '';
        if (got !== bigSha) await new Promise((res) => setTimeout(res, 100));
      }
      expect(got).toBe(bigSha);
    } finally {
      fwd.kill();
    }
  });
});
