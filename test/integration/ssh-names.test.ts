// SSH names that follow the environment: `<envid>.ssh.<domain>` kept by the edge (in workerd, through the official
// `cloudflare` client) in the Cloudflare DNS stand-in, resolved with dig, logged into with the real OpenSSH client.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/src/free-port.ts';
import { until } from '../../dev/src/until.ts';
import { startPlatform, type Platform } from '../support/platform.ts';
import { loadServices } from '../support/services.ts';
import { sshPassword } from '../support/ssh-login.ts';

const run = promisify(execFile);
const DOMAIN = 'gpu.test';

interface Access {
  ssh_host: string;
  ssh_port: number;
  ssh_username: string;
  ssh_password: string;
}
interface CfRecord {
  id: string;
  name: string;
  type: string;
  content: string;
  ttl: number;
  proxied: boolean;
  comment: string | null;
}
interface Reconciled {
  managed: boolean;
  records: number;
  created: number;
  updated: number;
  deleted: number;
  failed: number;
}

describe('SSH names in DNS', () => {
  let p: Platform;
  let busybox: number;
  let renter: string;

  /** Cloudflare's API as an operator would call it (curl with the zone's token). */
  const cf = async <T>(path: string, init: { method?: string; body?: unknown } = {}) => {
    const dns = p.dns!;
    const res = await fetch(`${dns.apiBase}/zones/${dns.zoneId}/dns_records${path}`, {
      method: init.method ?? (init.body ? 'POST' : 'GET'),
      headers: { authorization: `Bearer ${dns.token}`, 'content-type': 'application/json' },
      body: init.body ? JSON.stringify(init.body) : undefined,
    });
    const body = (await res.json()) as { success: boolean; result: T; errors: unknown[] };
    if (!body.success) throw new Error(`${path}: ${res.status} ${JSON.stringify(body.errors)}`);
    return body.result;
  };
  const recordsAt = (name: string) => cf<CfRecord[]>(`?name=${encodeURIComponent(name)}`);
  /** `dig @127.0.0.1 -p <port> +short <name>` (UDP, or TCP with `+tcp`): the answers, one per line. */
  const dig = async (name: string, ...opts: string[]) => {
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(p.dns!.dnsPort), '+short', ...opts, name]);
    return stdout.trim().split('\n').filter(Boolean);
  };
  const reconcile = async () => {
    const r = await p.api<Reconciled>('/api/v1/admin/dns/reconcile', { method: 'POST', token: await p.admin() });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  const create = async (name: string) => {
    const r = await p.api<{ environment: { id: string; status: string; ssh_host: string } }>('/api/v1/environments', {
      token: renter,
      body: { name, image_id: busybox, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.environment;
  };
  const access = async (id: string) =>
    (await p.api<Access>(`/api/v1/environments/${id}/access`, { token: renter })).body;
  const remove = async (id: string) => {
    const r = await p.api(`/api/v1/environments/${id}`, { method: 'DELETE', token: renter });
    expect(r.status).toBe(204);
  };
  /** Resolves the access info's name with dig, as the issue says, and logs in to the answer with the password. */
  const loginByName = async (a: Access) => {
    const [address] = await dig(a.ssh_host);
    expect(address).toBe('127.0.0.1');
    return until(
      `ssh to ${a.ssh_host} (${address}:${a.ssh_port})`,
      async () => {
        const r = await sshPassword({ ...a, ssh_host: address! }, 'echo "in $(hostname)"');
        return r.code === 0 ? r.stdout.trim() : null;
      },
      { timeout: 20_000 },
    );
  };

  beforeAll(async () => {
    loadServices();
    p = await startPlatform({ sshDomain: DOMAIN });
    const admin = await p.admin();
    const host = await p.api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', {
      token: admin,
      body: { name: 'dns-relay', public_ssh_host: '127.0.0.1' },
    });
    expect(host.status).toBe(201);
    p.spawnAgent(host.body.token, {
      stateDir: mkdtempSync(join(tmpdir(), 'it-dns-agent-')),
      sshListen: `127.0.0.1:${await freePort()}`,
      sshPorts: '27000-27099',
    });
    const img = await p.api<{ image: { id: number } }>('/api/v1/admin/images', {
      token: admin,
      body: { name: 'busybox:dns', docker_ref: loadServices().busyboxImage, hourly_price: 0.5 },
    });
    busybox = img.body.image.id;
    renter = await p.renter();
    await until(
      'the relay online',
      async () => {
        const l = await p.api<{ items: { id: string; status: string }[] }>('/api/v1/admin/hosts', { token: admin });
        return l.body.items.find((i) => i.id === host.body.host.id)?.status === 'online';
      },
      { timeout: 30_000 },
    );
  }, 120_000);

  afterAll(async () => {
    await p?.close();
  }, 60_000);

  it('create: the record exists, dig answers the relay (UDP and TCP), ssh by the name logs in; delete: the record goes', async () => {
    const env = await create('named');
    const name = `${env.id}.ssh.${DOMAIN}`;
    expect(env.ssh_host).toBe(name);
    const a = await access(env.id);
    expect(a.ssh_host).toBe(name);
    const [record, ...others] = await recordsAt(name);
    expect(others).toEqual([]);
    expect(record).toMatchObject({
      name,
      type: 'A',
      content: '127.0.0.1',
      ttl: 60,
      proxied: false,
      comment: `remotegpu-ssh env=${env.id}`,
    });
    expect(await dig(name)).toEqual(['127.0.0.1']);
    expect(await dig(name, '+tcp')).toEqual(['127.0.0.1']);
    expect(await loginByName(a)).toBe(`in ${env.id}`);
    // ssh's own check by name: the host key is remembered under the DNS name, not the relay's address.
    const known = join(mkdtempSync(join(tmpdir(), 'it-dns-known-')), 'known_hosts');
    const { stdout } = await run(
      'sshpass',
      [
        '-e',
        'ssh',
        '-p',
        String(a.ssh_port),
        '-o',
        `HostKeyAlias=${name}`,
        '-o',
        'StrictHostKeyChecking=accept-new',
        '-o',
        `UserKnownHostsFile=${known}`,
        '-o',
        'PubkeyAuthentication=no',
        '-o',
        'LogLevel=ERROR',
        `root@${(await dig(name))[0]}`,
        'echo by-alias',
      ],
      { env: { ...process.env, SSHPASS: a.ssh_password }, timeout: 30_000 },
    );
    expect(stdout.trim()).toBe('by-alias');
    const { stdout: listed } = await run('ssh-keygen', ['-F', name, '-f', known]);
    expect(listed).toContain(name);

    await remove(env.id);
    expect(await recordsAt(name)).toEqual([]);
    expect(await dig(name)).toEqual([]);
  });

  it('the reconcile (the Worker cron, and the admin endpoint) restores a deleted record, fixes a moved one and drops strays', async () => {
    const kept = await create('kept');
    const moved = await create('moved');
    const keptName = `${kept.id}.ssh.${DOMAIN}`;
    const movedName = `${moved.id}.ssh.${DOMAIN}`;
    // Behind the edge's back: the record deleted, a stray of ours added, and an operator's own record nearby.
    const [keptRecord] = await recordsAt(keptName);
    await cf(`/${keptRecord!.id}`, { method: 'DELETE' });
    const strayName = `zzzzzzzzzzzzzzzz.ssh.${DOMAIN}`;
    await cf('', {
      body: {
        name: strayName,
        type: 'A',
        content: '127.0.0.9',
        ttl: 60,
        comment: 'remotegpu-ssh env=zzzzzzzzzzzzzzzz',
      },
    });
    const manualName = `bastion.ssh.${DOMAIN}`;
    await cf('', { body: { name: manualName, type: 'A', content: '127.0.0.8', ttl: 60 } });
    expect(await dig(keptName)).toEqual([]);
    expect(await dig(strayName)).toEqual(['127.0.0.9']);
    // The environment moves to another relay (as evacuate does): only the database changes.
    const other = await p.api<{ host: { id: string } }>('/api/v1/admin/hosts', {
      token: await p.admin(),
      body: { name: 'dns-relay-2', public_ssh_host: 'relay-2.example.net' },
    });
    const db = createClient({ url: p.services.libsqlUrl, authToken: p.services.libsqlToken });
    await db.execute({ sql: 'UPDATE environments SET host_id = ? WHERE id = ?', args: [other.body.host.id, moved.id] });

    await p.runCron();
    expect(await recordsAt(keptName)).toMatchObject([{ type: 'A', content: '127.0.0.1' }]);
    expect(await recordsAt(movedName)).toMatchObject([{ type: 'CNAME', content: 'relay-2.example.net' }]);
    expect(await recordsAt(strayName)).toEqual([]);
    expect(await recordsAt(manualName)).toMatchObject([{ content: '127.0.0.8' }]);
    expect(await dig(keptName)).toEqual(['127.0.0.1']);
    expect(await dig(movedName)).toEqual([`relay-2.example.net.`]);
    expect(await dig(strayName)).toEqual([]);
    // Nothing left to do: a second run changes nothing; a renter may not run it.
    expect(await reconcile()).toEqual({ managed: true, records: 2, created: 0, updated: 0, deleted: 0, failed: 0 });
    expect((await p.api('/api/v1/admin/dns/reconcile', { method: 'POST', token: renter })).status).toBe(403);

    await db.execute({
      sql: 'UPDATE environments SET host_id = (SELECT host_id FROM environments WHERE id = ?) WHERE id = ?',
      args: [kept.id, moved.id],
    });
    db.close();
    await remove(kept.id);
    await remove(moved.id);
    await cf(`/${(await recordsAt(manualName))[0]!.id}`, { method: 'DELETE' });
    expect(await reconcile()).toMatchObject({ records: 0, created: 0, deleted: 0, failed: 0 });
  });

  it('a DNS API outage fails neither create nor delete; the reconcile then creates and removes the records', async () => {
    p.dns!.setOutage(true);
    const env = await create('outage');
    const name = `${env.id}.ssh.${DOMAIN}`;
    expect(env.status).toBe('running');
    expect(env.ssh_host).toBe(name);
    p.dns!.setOutage(false);
    expect(await recordsAt(name)).toEqual([]);
    expect(await dig(name)).toEqual([]);

    expect(await reconcile()).toMatchObject({ records: 1, created: 1, failed: 0 });
    expect(await dig(name)).toEqual(['127.0.0.1']);
    expect(await loginByName(await access(env.id))).toBe(`in ${env.id}`);

    p.dns!.setOutage(true);
    await remove(env.id);
    p.dns!.setOutage(false);
    expect(await recordsAt(name)).toHaveLength(1);
    expect(await reconcile()).toMatchObject({ records: 0, deleted: 1, failed: 0 });
    expect(await dig(name)).toEqual([]);
  });
});
