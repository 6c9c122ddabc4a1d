// Renter tools on images without OpenSSH (busybox, a stock ML-like image) through the relay: scp, sftp, rsync.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Route } from '@remotegpu/schema';
import { logLines } from './fakes.ts';
import { Harness, run } from './harness.ts';

const h = new Harness();
const FILE = join(h.dir, 'payload');
const data = randomBytes(3 * 1024 * 1024 + 17);
const sha = createHash('sha256').update(data).digest('hex');
const routes: Record<string, Route> = {};
const ids: Record<string, string> = {};

const images = [
  { name: 'busybox image (docker exec)', key: 'busybox' },
  { name: 'stock glibc image without OpenSSH (docker exec)', key: 'stock' },
];

beforeAll(async () => {
  writeFileSync(FILE, data);
  await h.start();
  const s = h.services;
  const [busybox, stock] = await Promise.all([
    h.container(s.REMOTEGPU_TEST_BUSYBOX_IMAGE, { cmd: ['sleep', '100000'] }),
    h.container(s.REMOTEGPU_TEST_STOCK_IMAGE, { cmd: ['sleep', '100000'] }),
  ]);
  ids.busybox = busybox.id;
  ids.stock = stock.id;
  routes.busybox = h.addRoute({
    type: 'container',
    target: { kind: 'docker', container_id: busybox.id },
    target_ip: busybox.ip,
  }).route;
  routes.stock = h.addRoute({
    type: 'container',
    target: { kind: 'docker', container_id: stock.id },
    target_ip: stock.ip,
  }).route;
}, 60_000);

afterAll(async () => {
  await h.stop();
  rmSync(h.dir, { recursive: true, force: true });
});

describe.each(images)('$name', ({ key }) => {
  const port = () => routes[key]!.ssh_port;
  const scpOpts = () => h.sshOpts({ port: port() }).map((o) => (o === '-p' ? '-P' : o));
  const remote = (name: string) => `root@127.0.0.1:/tmp/${name}`;
  const local = (name: string) => join(h.dir, `${key}-${name}`);
  const remoteSha = async (name: string) =>
    (await h.ssh(port(), 'root', [`sha256sum /tmp/${name}`])).stdout.split(' ')[0];
  const localSha = (name: string) =>
    createHash('sha256')
      .update(readFileSync(local(name)))
      .digest('hex');

  it('has no sftp-server, scp or rsync of its own (the relay brings them)', async () => {
    const r = await h.ssh(port(), 'root', [
      'command -v scp rsync; ls /usr/lib/openssh /usr/libexec/openssh 2>/dev/null; echo done',
    ]);
    expect(r.stdout).toBe('done\n');
  });

  it('scp (SFTP mode) and scp -O move a file both ways, checksums equal', async () => {
    for (const mode of [[], ['-O']]) {
      const name = `scp${mode.join('')}`;
      const up = await run('scp', [...mode, ...scpOpts(), FILE, remote(name)]);
      expect(up.code, up.stderr).toBe(0);
      expect(await remoteSha(name)).toBe(sha);
      const down = await run('scp', [...mode, ...scpOpts(), remote(name), local(name)]);
      expect(down.code, down.stderr).toBe(0);
      expect(localSha(name)).toBe(sha);
    }
  });

  it('sftp puts and gets a file, checksums equal', async () => {
    const r = await run('sftp', [...scpOpts(), '-b', '-', 'root@127.0.0.1'], {
      input: `put ${FILE} /tmp/sftp\nget /tmp/sftp ${local('sftp')}\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await remoteSha('sftp')).toBe(sha);
    expect(localSha('sftp')).toBe(sha);
  });

  it('rsync -e ssh moves a file both ways, checksums equal', async () => {
    const e = ['-e', `ssh ${h.sshOpts({ port: port() }).join(' ')}`];
    const up = await run('rsync', [...e, FILE, remote('rsync')]);
    expect(up.code, up.stderr).toBe(0);
    expect(await remoteSha('rsync')).toBe(sha);
    const down = await run('rsync', [...e, remote('rsync'), local('rsync')]);
    expect(down.code, down.stderr).toBe(0);
    expect(localSha('rsync')).toBe(sha);
  });

  it('keeps the bundle under /.remotegpu, leaves the shell PATH alone, and tells the operator once', async () => {
    const r = await h.ssh(port(), 'root', ['ls /.remotegpu/bin; echo "PATH=$PATH"']);
    expect(r.stdout).toMatch(/^rsync\nscp\nsftp-server\n(socat\n)?PATH=/);
    expect(r.stdout.split('PATH=')[1]).not.toContain('remotegpu');
    const installed = logLines.filter(
      (l) => l.msg === 'ssh tools installed into the environment (its image has none)' && l.container === ids[key],
    );
    expect(installed).toHaveLength(1);
    expect(installed[0]).toMatchObject({ level: 'info', env_id: routes[key]!.environment_id, path: '/.remotegpu' });
  });
});
