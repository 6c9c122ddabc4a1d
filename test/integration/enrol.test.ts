// Enrolling a machine with a one-time root password through the admin API, then renting it and logging in with real ssh.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/src/free-port.ts';
import { startPlatform, type Platform } from '../support/platform.ts';
import { until } from '../../dev/src/until.ts';
import { containerIp, docker, loadServices } from '../support/services.ts';
import { type PasswordAccess, sshPassword } from '../support/ssh-login.ts';

const run = promisify(execFile);

/** Every file under `dir` that contains `needle` (raw bytes: sqlite pages, WAL, Durable Object storage, logs). */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const want = Buffer.from(needle);
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const f = join(d, name);
      const st = statSync(f, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(f);
      else if (st.isFile() && readFileSync(f).includes(want)) hits.push(f);
    }
  };
  walk(dir);
  return hits;
}

describe('enrolling a machine with a one-time root password', () => {
  let p: Platform;
  let hostId: string;
  let agentState: string;
  let agentLog: string;
  let machineName: string;
  // The "machine": a container of the test sshd image with password logins for root switched on and a known root
  // password. Root's password on this host is locked (and must not be changed), and the loopback sshd of the test
  // services reads a fixed authorized_keys file, so a real sshd in a container is the faithful stand-in: root, a
  // ~/.ssh/authorized_keys, and a host key the test knows (the image's, in $REMOTEGPU_TEST_KNOWN_HOSTS).
  const secret = `Rg-${randomBytes(18).toString('base64url')}`;
  let ip: string;

  beforeAll(async () => {
    const s = loadServices();
    machineName = `rg-enrol-${randomBytes(4).toString('hex')}`;
    // Only the hash enters the container (openssl on this host makes it): the plaintext exists in this process alone.
    const { stdout: hash } = await run('bash', ['-c', 'printf %s "$PW" | openssl passwd -6 -stdin'], {
      env: { ...process.env, PW: secret },
    });
    await docker([
      'run',
      '-d',
      '--name',
      machineName,
      '--label',
      'remotegpu.test=enrol',
      '-e',
      `ROOT_HASH=${hash.trim()}`,
      s.sshdImage,
      'sh',
      '-c',
      'sed -i "s|^root:[^:]*:|root:$ROOT_HASH:|" /etc/shadow && exec /usr/local/bin/start-sshd -o PasswordAuthentication=yes -o PermitRootLogin=yes',
    ]);
    ip = await containerIp(machineName);

    p = await startPlatform();
    const admin = await p.admin();
    const host = await p.api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', {
      token: admin,
      body: { name: 'enrol-relay', public_ssh_host: '127.0.0.1' },
    });
    hostId = host.body.host.id;
    agentState = mkdtempSync(join(tmpdir(), 'enrol-agent-'));
    agentLog = join(agentState, 'agent.log');
    const port = await freePort();
    p.spawnAgent(host.body.token, {
      stateDir: agentState,
      sshListen: `127.0.0.1:${port}`,
      sshPorts: '23000-23999',
      logFile: agentLog,
    });
    await until(
      'the relay online',
      async () => {
        const l = await p.api<{ items: { id: string; status: string }[] }>('/api/v1/admin/hosts', { token: admin });
        return l.body.items.find((i) => i.id === hostId)?.status === 'online';
      },
      { timeout: 30_000 },
    );
  }, 120_000);

  afterAll(async () => {
    await docker(['rm', '-f', machineName]).catch(() => '');
    await p?.close();
  }, 60_000);

  it('the relay installs its platform key and pins the host key; a renter logs in through it; the password is stored nowhere', async () => {
    const admin = await p.admin();
    const base = {
      region: '北京B区',
      gpu_model: 'RTX 5090',
      gpu_count: 2,
      gpu_memory: 32,
      cpu_cores: 16,
      memory_gb: 90,
      disk_gb: 5881,
      target_ip: ip,
      ssh_port: 22,
      host_id: hostId,
      monthly_price: 6999,
    };

    // A wrong password: refused, and the machine does not join the pool.
    const wrong = await p.api<{ error: { code: string } }>('/api/v1/admin/machines', {
      token: admin,
      body: { ...base, name: 'enrol-wrong', enrol: { password: `${secret}x` } },
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.code).toBe('enrol_auth_failed');

    const m = await p.api<{ machine: { id: number; host_key: string | null } }>('/api/v1/admin/machines', {
      token: admin,
      body: { ...base, name: '北京B区-enrol', enrol: { password: secret } },
    });
    expect(m.status, JSON.stringify(m.body)).toBe(201);
    const imageKey = readFileSync(loadServices().testKnownHosts, 'utf8').trim().split(/\s+/).slice(1, 3).join(' ');
    expect(m.body.machine.host_key).toBe(imageKey);
    const hosts = await p.api<{ items: { id: string; platform_public_key: string }[] }>('/api/v1/admin/hosts', {
      token: admin,
    });
    const platformKey = hosts.body.items
      .find((h) => h.id === hostId)!
      .platform_public_key.split(' ')
      .slice(0, 2)
      .join(' ');
    const keysOnMachine = () => docker(['exec', machineName, 'cat', '/root/.ssh/authorized_keys']);
    expect((await keysOnMachine()).split('\n').filter((l) => l.startsWith(platformKey))).toHaveLength(1);
    const pool = await p.api<{ items: { name: string }[] }>('/api/v1/admin/machines', { token: admin });
    expect(pool.body.items.map((x) => x.name)).toEqual(['北京B区-enrol']);

    // Enrolling again (e.g. after the admin rotated the password) is idempotent: the key is there once.
    const again = await p.api<{ machine: { host_key: string } }>(`/api/v1/admin/machines/${m.body.machine.id}/enrol`, {
      token: admin,
      body: { username: 'root', password: secret },
    });
    expect(again.status).toBe(200);
    expect((await keysOnMachine()).split('\n').filter((l) => l.startsWith(platformKey))).toHaveLength(1);

    // A renter rents it and logs in with the real ssh (sshpass) through the relay, which checks the pinned host key.
    const renter = await p.renter();
    const rented = await p.api<{ environment: { id: string }; access: PasswordAccess }>(
      `/api/v1/market/machines/${m.body.machine.id}/allocate`,
      { token: renter, body: {} },
    );
    expect(rented.status).toBe(201);
    let last: unknown = null;
    const r = await until(
      'ssh into the enrolled machine',
      async () => {
        const x = await sshPassword(rented.body.access, 'id -un; hostname');
        last = x;
        return x.code === 0 ? x : null;
      },
      { timeout: 20_000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}`);
    });
    expect(r.stdout.split('\n')[0]).toBe('root');
    expect(r.stdout.split('\n')[1]).toBe((await docker(['inspect', '-f', '{{.Config.Hostname}}', machineName])).trim());

    // The admin cannot pull the machine from under its renter; after the release it goes.
    const refused = await p.api<{ error: { code: string } }>(`/api/v1/admin/machines/${m.body.machine.id}`, {
      method: 'DELETE',
      token: admin,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('machine_rented');
    expect(
      (await p.api(`/api/v1/environments/${rented.body.environment.id}`, { method: 'DELETE', token: renter })).status,
    ).toBe(204);
    expect(
      (await p.api(`/api/v1/admin/machines/${m.body.machine.id}`, { method: 'DELETE', token: admin })).status,
    ).toBe(204);

    // The secret is nowhere: the database file and WAL, the Durable Objects' storage, Redis, the relay's state and log, the audit trail.
    expect(filesContaining(p.dir, platformKey.split(' ')[1]!).length, 'the scan reads the database').toBeGreaterThan(0);
    expect(filesContaining(p.dir, secret)).toEqual([]);
    expect(filesContaining(agentState, secret)).toEqual([]);
    expect(readFileSync(agentLog, 'utf8')).toContain('target enrolled');
    const redis = createClient({ url: p.services.redisUrl });
    await redis.connect();
    try {
      const dump: string[] = [];
      for (const key of await redis.keys('*')) {
        const type = await redis.type(key);
        if (type === 'string') dump.push((await redis.get(key)) ?? '');
        else if (type === 'hash') dump.push(JSON.stringify(await redis.hGetAll(key)));
        else if (type === 'set') dump.push(JSON.stringify(await redis.sMembers(key)));
        else if (type === 'list') dump.push(JSON.stringify(await redis.lRange(key, 0, -1)));
        else if (type === 'zset') dump.push(JSON.stringify(await redis.zRange(key, 0, -1)));
        dump.push(key);
      }
      expect(dump.length).toBeGreaterThan(0);
      expect(dump.join('\n')).not.toContain(secret);
    } finally {
      await redis.quit();
    }
    const audit = await p.api<{ items: { event: string }[] }>('/api/v1/audit-events?all=true&limit=500', {
      token: admin,
    });
    expect(audit.body.items.map((e) => e.event)).toEqual(
      expect.arrayContaining(['machine.create', 'machine.enrol', 'machine.delete']),
    );
    expect(JSON.stringify(audit.body)).not.toContain(secret);
  }, 120_000);
});
