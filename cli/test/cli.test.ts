// The `remotegpu` CLI as a renter runs it (`npm pack`ed, installed in a clean folder, spawned) against the local stack,
// a real relay agent on the private dockerd and the system's OpenSSH: login, create, ssh without a password,
// config-ssh, cp, port-forward, the device-code login, teams and --team, and the documented exit codes.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/src/free-port.ts';
import { ok } from '../../dev/src/json-api.ts';
import { REPO_ROOT } from '../../dev/src/edge-server.ts';
import { stopChild } from '../../dev/src/stack.ts';
import { until } from '../../dev/src/until.ts';
import { startPlatform, type Platform } from '../../test/support/platform.ts';
import { loadServices } from '../../test/support/services.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm pack -w cli`, then `npm install <tarball>` in an empty folder, as `npx @remotegpu/cli` would fetch it. */
function installPacked(): { dir: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cli-npx-'));
  execFileSync('npm', ['pack', '-w', 'cli', '--pack-destination', dir], { cwd: REPO_ROOT, stdio: 'ignore' });
  const tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz')) ?? 'no tarball made');
  const clean = join(dir, 'clean');
  mkdirSync(clean);
  // Its dependencies come from npm's cache when `npm ci` has filled it (it has, in CI and after a checkout).
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
    cwd: clean,
    stdio: 'ignore',
  });
  return { dir: clean, bin: join(clean, 'node_modules/.bin/remotegpu') };
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The process environment of a renter's shell: its own HOME, English, none of this test run's REMOTEGPU_* settings. */
function renterEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('REMOTEGPU_') && !k.startsWith('XDG_') && !k.startsWith('LC_')) env[k] = v;
  return { ...env, HOME: home, LANG: 'C.UTF-8', REMOTEGPU_NO_BROWSER: '1', ...extra };
}

describe('the remotegpu CLI', () => {
  let p: Platform;
  let home: string;
  let renter: string;
  let renterEmail: string;
  let envName: string;
  let packed: { dir: string; bin: string };

  const cli = (args: string[], extra: Record<string, string> = {}, timeout = 60_000): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        packed.bin,
        args,
        { cwd: home, env: renterEnv(home, extra), timeout, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  const spawnCli = (args: string[]): ChildProcess =>
    spawn(packed.bin, args, {
      cwd: home,
      env: renterEnv(home),
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  beforeAll(async () => {
    loadServices();
    packed = installPacked();
    p = await startPlatform();
    const admin = await p.admin();
    const host = ok(
      'add host',
      await p.api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', {
        token: admin,
        body: { name: 'cli-relay', public_ssh_host: '127.0.0.1' },
      }),
    );
    p.spawnAgent(host.token, {
      stateDir: mkdtempSync(join(tmpdir(), 'cli-agent-')),
      sshListen: `127.0.0.1:${await freePort()}`,
      sshPorts: '24000-24999',
    });
    ok(
      'add image',
      await p.api('/api/v1/admin/images', {
        token: admin,
        body: { name: 'busybox:cli', docker_ref: loadServices().busyboxImage, hourly_price: 0.5 },
      }),
    );
    await until(
      'the relay online',
      async () => {
        const l = await p.api<{ items: { id: string; status: string }[] }>('/api/v1/admin/hosts', { token: admin });
        return l.body.items.find((i) => i.id === host.host.id)?.status === 'online';
      },
      { timeout: 30_000 },
    );
    renterEmail = `cli${randomBytes(5).toString('hex')}@platform.test`;
    renter = ok(
      'register',
      await p.api<{ token: string }>('/api/v1/auth/register', {
        body: { email: renterEmail, password: 'renter-password-1' },
      }),
    ).token;
    // A blank in the home folder, as on many desktops: every path the CLI hands to OpenSSH must survive it.
    home = mkdtempSync(join(tmpdir(), 'cli home-'));
  }, 120_000);

  afterAll(async () => {
    await p?.close();
  }, 60_000);

  it('the packed package runs with npx from a clean folder', async () => {
    const r = await new Promise<Run>((resolve) =>
      execFile(
        'npx',
        ['@remotegpu/cli', '--version'],
        { cwd: packed.dir, env: renterEnv(packed.dir) },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      ),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${JSON.parse(readFileSync(join(REPO_ROOT, 'cli/package.json'), 'utf8')).version}\n`);
  });

  it('login --token: a wrong token is exit 3, an unreachable console exit 6; a good one is stored 0600', async () => {
    const bad = await cli(['login', '--url', p.url, '--token', 'rgt_wrong']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/authentication required/);
    const down = await cli(['login', '--url', `http://127.0.0.1:${await freePort()}`, '--token', renter]);
    expect(down.code).toBe(6);
    expect(down.stderr).toMatch(/cannot reach/);
    expect((await cli(['whoami'])).code).toBe(3);

    const good = await cli(['login', '--url', p.url, '--token', renter]);
    expect(good.code, good.stderr).toBe(0);
    const creds = join(home, '.config/remotegpu/credentials.json');
    expect(statSync(creds).mode & 0o777).toBe(0o600);
    const me = JSON.parse((await cli(['whoami', '--json'])).stdout) as { url: string; user: { email: string } };
    expect(me).toMatchObject({ url: p.url, user: { email: renterEmail } });
  });

  it('create, ls --json; usage, no capacity and unknown environments give their exit codes', async () => {
    envName = 'train';
    const created = await cli(['create', envName, '--image', 'busybox:cli', '--cpu', '1', '--memory', '1', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const env = (JSON.parse(created.stdout) as { environment: { id: string; status: string } }).environment;
    expect(env.status).toBe('running');
    const ls = JSON.parse((await cli(['ls', '--json'])).stdout) as { items: { id: string; ssh_alias: string }[] };
    expect(ls.items).toEqual([expect.objectContaining({ id: env.id, ssh_alias: 'rg-train' })]);
    expect((await cli(['ls', '-q'])).stdout).toBe('train\n');
    const rotated = JSON.parse((await cli(['rotate-password', envName, '--json'])).stdout) as { ssh_password: string };
    expect(rotated.ssh_password).toMatch(/^[A-Za-z0-9]{32}$/);

    const gpu = await cli(['create', 'big', '--image', 'busybox:cli', '--gpus', '1']);
    expect(gpu.code).toBe(5);
    expect(gpu.stderr).toMatch(/NVIDIA/);
    expect((await cli(['create', 'x'])).code).toBe(2); // --image missing
    expect((await cli(['create', 'x', '--image', 'busybox:cli', '--cpu', 'many'])).code).toBe(2);
    const unknown = await cli(['ssh', 'nope', '--', 'true']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/no environment named or numbered nope/);
    expect((await cli(['stop', 'nope'])).code).toBe(4);
    const zh = await cli(['stop', 'nope'], { LANG: 'zh_CN.UTF-8' });
    expect(zh.code).toBe(4);
    expect(zh.stderr).toContain('没有名称或 ID 为 nope 的环境');
    expect((await cli(['--help'], { LANG: 'zh_CN.UTF-8' })).stdout).toContain('退出码：0 成功');
    expect((await cli(['create', 'y', '--image', 'no-such-image'])).code).toBe(4);
    expect((await cli(['rent', 'no-such-machine'])).code).toBe(4);
    const market = JSON.parse((await cli(['market', '--json', '--all'])).stdout) as { items: unknown[]; total: number };
    expect(market).toMatchObject({ items: [], total: 0 });
    const images = JSON.parse((await cli(['images', '--json'])).stdout) as { items: { name: string }[] };
    expect(images.items.map((i) => i.name)).toContain('busybox:cli');
  });

  it('ssh <env> -- command: the system OpenSSH, no password, the relay host key pinned', async () => {
    const r = await cli(['ssh', envName, '--', 'echo', 'ok']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('ok\n');
    const dir = join(home, '.config/remotegpu');
    expect(existsSync(join(dir, 'id_ed25519'))).toBe(true);
    expect(readFileSync(join(dir, 'known_hosts'), 'utf8')).toMatch(/^rg-train ssh-ed25519 AAAA/m);
    const keys = ok('keys', await p.api<{ items: { name: string }[] }>('/api/v1/ssh-keys', { token: renter }));
    expect(keys.items).toHaveLength(1);
    expect(keys.items[0]!.name).toMatch(/^cli on /);
    // The remote command's exit status is the CLI's.
    expect((await cli(['ssh', 'rg-train', '--', 'exit', '7'])).code).toBe(7);

    const stopped = await cli(['stop', envName, '--json']);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ environment: { status: 'stopped' } });
    const refused = await cli(['ssh', envName, '--', 'true']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('train is stopped: `remotegpu start train` first');
    expect(JSON.parse((await cli(['start', envName, '--json'])).stdout)).toMatchObject({
      environment: { status: 'running' },
    });
    const again = await until(
      'ssh after start',
      async () => {
        const r = await cli(['ssh', envName, '--', 'echo', 'back']);
        return r.code === 0 ? r : null;
      },
      { timeout: 20_000 },
    );
    expect(again.stdout).toBe('back\n');
  });

  it('config-ssh: plain ssh rg-<name> works; idempotent; --remove leaves the old file byte-identical', async () => {
    const sshDir = join(home, '.ssh');
    mkdirSync(sshDir, { recursive: true });
    const file = join(sshDir, 'config');
    const before = '# my hosts\nHost *\n\tServerAliveInterval 30\n\nHost box\n  HostName 10.9.8.7'; // no final newline
    writeFileSync(file, before);
    const dry = await cli(['config-ssh', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^\+Host rg-train$/m);
    expect(readFileSync(file, 'utf8')).toBe(before);

    expect((await cli(['config-ssh'])).code).toBe(0);
    const written = readFileSync(file, 'utf8');
    expect(written.endsWith(before)).toBe(true);
    expect((await cli(['config-ssh', '--dry-run'])).stdout).toBe('');
    const ssh = await new Promise<Run>((resolve) =>
      execFile(
        'ssh',
        ['-F', file, '-o', 'BatchMode=yes', 'rg-train', 'echo', 'plain'],
        { timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      ),
    );
    expect(ssh.code, ssh.stderr).toBe(0);
    expect(ssh.stdout).toBe('plain\n');

    expect((await cli(['config-ssh', '--remove'])).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('cp: 16 MiB up and back down with the same checksum', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-cp-'));
    const data = randomBytes(16 * 1024 * 1024);
    writeFileSync(join(dir, 'up.bin'), data);
    const up = await cli(['cp', join(dir, 'up.bin'), `${envName}:/tmp/big.bin`]);
    expect(up.code, up.stderr).toBe(0);
    const remote = await cli(['ssh', envName, '--', 'sha256sum', '/tmp/big.bin']);
    expect(remote.stdout.split(' ')[0]).toBe(sha256(data));
    const down = await cli(['cp', 'rg-train:/tmp/big.bin', join(dir, 'down.bin')]);
    expect(down.code, down.stderr).toBe(0);
    expect(sha256(readFileSync(join(dir, 'down.bin')))).toBe(sha256(data));
    expect((await cli(['cp', 'a', 'b'])).code).toBe(2);
  });

  it('port-forward reaches a server inside the environment; open prints the VS Code URI and an app link', async () => {
    const started = await cli([
      'ssh',
      envName,
      '--',
      'mkdir -p /tmp/www && echo hello-from-env > /tmp/www/index.html && httpd -p 8080 -h /tmp/www && echo up',
    ]);
    expect(started.stdout, started.stderr).toContain('up');
    const local = await freePort();
    const fwd = spawnCli(['port-forward', envName, `${local}:8080`]);
    try {
      const body = await until(
        'the forwarded port answers',
        async () => {
          const res = await fetch(`http://127.0.0.1:${local}/`);
          return res.ok ? res.text() : null;
        },
        { timeout: 20_000, interval: 250 },
      );
      expect(body).toBe('hello-from-env\n');
    } finally {
      await stopChild(fwd);
    }

    const vscode = await cli(['open', envName, '--vscode']);
    expect(vscode.stdout).toBe('vscode://vscode-remote/ssh-remote+rg-train/root\n');
    const app = await cli(['open', envName, '--app', '8080']);
    expect(app.code, app.stderr).toBe(0);
    expect(app.stdout).toMatch(/^https?:\/\/\S+\n$/);
    expect((await cli(['open', envName])).code).toBe(2);
  });

  it('login without --token: the device code, approved with a bearer session, gives the CLI its token', async () => {
    const other = mkdtempSync(join(tmpdir(), 'cli-home2-'));
    const child = spawn(packed.bin, ['login', '--url', p.url], {
      cwd: other,
      env: renterEnv(other),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const code = await until(
      'the user code printed',
      () => /approve the code ([A-Z2-9]{4}-[A-Z2-9]{4})/.exec(stderr)?.[1],
      {
        timeout: 20_000,
      },
    );
    expect(stderr).toContain(`${p.url}/cli/approve?code=${code}`);
    const session = ok(
      'login',
      await p.api<{ token: string }>('/api/v1/auth/login', {
        body: { email: renterEmail, password: 'renter-password-1' },
      }),
    ).token;
    ok('approve', await p.api('/api/v1/cli/device-codes/approve', { token: session, body: { user_code: code } }));
    expect(await exited, stderr).toBe(0);
    expect(stderr).toContain(`Logged in to ${p.url} as ${renterEmail}`);
    const creds = JSON.parse(readFileSync(join(other, '.config/remotegpu/credentials.json'), 'utf8')) as {
      token: string;
    };
    expect(creds.token).toMatch(/^rgt_/);
    // logout revokes the token the browser login made.
    expect((await cli(['logout'], { HOME: other })).code).toBe(0);
    expect(existsSync(join(other, '.config/remotegpu/credentials.json'))).toBe(false);
    expect((await p.api('/api/v1/me', { token: creds.token })).status).toBe(401);
  });

  it('teams: create one, add a read-only member; --team creates for it, REMOTEGPU_TEAM lists its environments', async () => {
    const made = await cli(['teams', 'create', 'lab', '--json']);
    expect(made.code, made.stderr).toBe(0);
    const teamId = (JSON.parse(made.stdout) as { team: { id: string } }).team.id;
    const otherEmail = `cli${randomBytes(5).toString('hex')}@platform.test`;
    const other = ok(
      'register',
      await p.api<{ token: string }>('/api/v1/auth/register', {
        body: { email: otherEmail, password: 'renter-password-2' },
      }),
    ).token;
    const added = await cli(['teams', 'members', 'add', 'lab', otherEmail, '--role', 'read_only']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(new RegExp(`${otherEmail}\\s+read_only`));
    ok(
      'credit the team',
      await p.api(`/api/v1/admin/accounts/${teamId}/credits`, {
        token: await p.admin(),
        body: { amount: 100_000, kind: 'credit', description: 'cli team' },
      }),
    );
    const created = await cli(['--team', 'lab', 'create', 'teambox', '--image', 'busybox:cli', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const env = (JSON.parse(created.stdout) as { environment: { id: string; team_id: string | null } }).environment;
    expect(env.team_id).toBe(teamId);
    const teamLs = JSON.parse((await cli(['ls', '--json'], { REMOTEGPU_TEAM: teamId })).stdout) as {
      items: { name: string }[];
    };
    expect(teamLs.items.map((e) => e.name)).toEqual(['teambox']);

    // The read-only member sees it, and may not create for the team: 403 forbidden_role, exit 3.
    const theirs = JSON.parse((await cli(['ls', '--json'], { REMOTEGPU_TOKEN: other })).stdout) as {
      items: { id: string }[];
    };
    expect(theirs.items.map((e) => e.id)).toEqual([env.id]);
    const denied = await cli(['create', 'no', '--image', 'busybox:cli', '--team', 'lab'], { REMOTEGPU_TOKEN: other });
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/read_only/);
    expect((await cli(['--team', 'no-such-team', 'ls'])).code).toBe(4);
    expect((await cli(['rm', 'teambox'])).code).toBe(0);
  });

  it('completion scripts load in bash; rm deletes the environment', async () => {
    const bash = await cli(['completion', 'bash']);
    const script = join(home, 'completion.bash');
    writeFileSync(script, bash.stdout);
    const loaded = await new Promise<Run>((resolve) =>
      execFile('bash', ['-c', 'source "$0" && complete -p remotegpu', script], (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      ),
    );
    expect(loaded.stdout).toContain('complete -o default -F _remotegpu remotegpu');
    expect((await cli(['completion', 'zsh'])).stdout).toMatch(/^#compdef remotegpu/);
    expect((await cli(['completion', 'fish'])).code).toBe(2);

    expect((await cli(['rm', envName])).code).toBe(0);
    expect(JSON.parse((await cli(['ls', '--json'])).stdout)).toEqual({ items: [] });
  });
});
