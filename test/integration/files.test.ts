// Files through the edge: uploads and downloads over SFTP on an exec container (the relay's bundled sftp-server) and on a
// machine with its own sftp-server (the loopback physical sshd), owner only, audited, streamed (the agent's RSS stays flat).
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeOnPhysical, physicalSshd, revokeOnPhysical } from '../../dev/src/physical-keys.ts';
import { rentMachine } from '../../dev/src/rent-machine.ts';
import { freePort } from '../../dev/src/free-port.ts';
import { until } from '../../dev/src/until.ts';
import { rssOf } from '../support/app-targets.ts';
import { startPlatform, type Platform } from '../support/platform.ts';
import { docker, loadServices, servicesDir } from '../support/services.ts';

const MiB = 1024 * 1024;

/** A deterministic stream of `size` bytes (64 KiB blocks from a seed) and its sha256. */
function* blocks(size: number, seed: number): Generator<Buffer> {
  const block = Buffer.alloc(64 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + seed * 17 + (i >> 9)) & 0xff;
  for (let sent = 0; sent < size; sent += block.length) yield block.subarray(0, Math.min(block.length, size - sent));
}
function sha256Of(size: number, seed: number): string {
  const h = createHash('sha256');
  for (const b of blocks(size, seed)) h.update(b);
  return h.digest('hex');
}

describe('files in the environment through the edge and the relay', () => {
  let p: Platform;
  let agent: ChildProcess;
  let owner = '';
  let other = '';
  let boxEnv = '';
  let boxContainer = '';
  let machineEnv = '';
  let revokeKey: (() => Promise<void>) | null = null;
  const stateDir = mkdtempSync(join(tmpdir(), 'files-agent-'));
  const onMachine = mkdtempSync(join(tmpdir(), 'files-physical-')); // the loopback machine's disk is this one

  const url = (env: string, path: string) =>
    `http://127.0.0.1:${p.port}/api/v1/environments/${env}/files?path=${encodeURIComponent(path)}`;

  function put(token: string, env: string, path: string, size: number, seed: number) {
    return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const req = request(url(env, path), {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-length': String(size) },
      });
      req.on('error', reject);
      req.on('response', async (res) => {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') });
      });
      void (async () => {
        for (const b of blocks(size, seed)) if (!req.write(b)) await new Promise((r) => req.once('drain', r));
        req.end();
      })();
    });
  }

  async function get(token: string, env: string, path: string) {
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      request(url(env, path), { headers: { authorization: `Bearer ${token}` } }, resolve)
        .on('error', reject)
        .end(),
    );
    const h = createHash('sha256');
    let bytes = 0;
    const chunks: Buffer[] = [];
    for await (const c of res) {
      h.update(c as Buffer);
      bytes += (c as Buffer).length;
      if (res.statusCode !== 200) chunks.push(c as Buffer);
    }
    return {
      status: res.statusCode ?? 0,
      headers: res.headers,
      bytes,
      sha256: h.digest('hex'),
      json:
        res.statusCode === 200 ? null : (JSON.parse(Buffer.concat(chunks).toString()) as { error: { code: string } }),
    };
  }

  beforeAll(async () => {
    const s = loadServices();
    p = await startPlatform();
    const admin = await p.admin();
    const host = await p.api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', {
      token: admin,
      body: { name: 'files-relay', public_ssh_host: '127.0.0.1' },
    });
    agent = p.spawnAgent(host.body.token, {
      stateDir,
      sshListen: `127.0.0.1:${await freePort()}`,
      sshPorts: '23000-23999',
    });
    const key = await until(
      'relay online with its platform key',
      async () => {
        const hosts = await p.api<{ items: { id: string; status: string; platform_public_key: string | null }[] }>(
          '/api/v1/admin/hosts',
          { token: admin },
        );
        const h = hosts.body.items.find((x) => x.id === host.body.host.id);
        return h?.status === 'online' ? h.platform_public_key : null;
      },
      { timeout: 30_000 },
    );
    const physical = physicalSshd(servicesDir())!;
    await authorizeOnPhysical(physical, key);
    revokeKey = () => revokeOnPhysical(physical, key);
    owner = await p.renter();
    other = await p.renter();
    const img = await p.api<{ image: { id: number } }>('/api/v1/admin/images', {
      token: admin,
      body: { name: 'busybox:files', docker_ref: s.busyboxImage, hourly_price: 0.5 },
    });
    const box = await p.api<{ environment: { id: string; status: string; container_id: string } }>(
      '/api/v1/environments',
      { token: owner, body: { name: 'files', image_id: img.body.image.id, gpu_count: 0, cpu_cores: 1, memory_gb: 1 } },
    );
    expect(box.body.environment.status).toBe('running');
    boxEnv = box.body.environment.id;
    boxContainer = box.body.environment.container_id;
    ({ envId: machineEnv } = await rentMachine(p.api, {
      admin,
      renter: owner,
      hostId: host.body.host.id,
      targetIp: s.physical.host,
      sshPort: s.physical.port,
      name: 'files-box',
    }));
    // The data connection comes up a moment after the control one.
    await until('file streams served', async () => (await get(owner, boxEnv, '/etc/hostname')).status === 200, {
      timeout: 30_000,
    });
  }, 180_000);

  afterAll(async () => {
    await revokeKey?.();
    await p?.close();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(onMachine, { recursive: true, force: true });
  }, 60_000);

  it('uploads and downloads 32 MiB intact on an exec container (the relay brings sftp-server), and audits both', async () => {
    const size = 32 * MiB;
    const up = await put(owner, boxEnv, '/root/up.bin', size, 1);
    expect(up).toEqual({ status: 201, body: { path: '/root/up.bin', bytes: size } });
    const inside = await docker(['exec', boxContainer, 'sha256sum', '/root/up.bin']);
    expect(inside.split(/\s+/)[0]).toBe(sha256Of(size, 1));
    const down = await get(owner, boxEnv, '/root/up.bin');
    expect(down).toMatchObject({ status: 200, bytes: size, sha256: sha256Of(size, 1) });
    expect(down.headers['content-length']).toBe(String(size));
    expect(down.headers['content-disposition']).toBe("attachment; filename*=UTF-8''up.bin");
    const audit = await until(
      'file events in the audit log',
      async () => {
        const a = await p.api<{ items: { event: string; status: string; detail: unknown }[] }>(
          `/api/v1/audit-events?environment_id=${boxEnv}`,
          { token: owner },
        );
        const files = a.body.items.filter((e) => e.event.startsWith('file.'));
        return files.length >= 2 ? files : null;
      },
      { timeout: 20_000 },
    );
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          event: 'file.upload',
          status: 'success',
          detail: expect.objectContaining({ path: '/root/up.bin', bytes: size }),
        }),
        expect.objectContaining({
          event: 'file.download',
          status: 'success',
          detail: expect.objectContaining({ path: '/root/up.bin', bytes: size }),
        }),
      ]),
    );
  }, 120_000);

  it('uploads and downloads 32 MiB intact on a machine with its own sftp-server', async () => {
    const size = 32 * MiB;
    const path = join(onMachine, 'machine.bin');
    expect(await put(owner, machineEnv, path, size, 2)).toEqual({ status: 201, body: { path, bytes: size } });
    const h = createHash('sha256');
    for await (const c of createReadStream(path)) h.update(c as Buffer);
    expect(h.digest('hex')).toBe(sha256Of(size, 2));
    expect(await get(owner, machineEnv, path)).toMatchObject({ status: 200, bytes: size, sha256: sha256Of(size, 2) });
  }, 120_000);

  it('answers not_found, not_a_file and validation errors as JSON, and 404 to another renter', async () => {
    expect((await get(owner, boxEnv, '/root/missing')).json?.error.code).toBe('not_found');
    expect((await get(owner, boxEnv, '/root/missing')).status).toBe(404);
    expect(await get(owner, boxEnv, '/etc')).toMatchObject({ status: 400, json: { error: { code: 'not_a_file' } } });
    expect((await get(owner, boxEnv, 'relative/path')).status).toBe(422);
    // Refused at open, while the client still sends 16 MiB: the answer comes at once and the next transfer works.
    expect(await put(owner, boxEnv, '/no/such/dir/x', 16 * MiB, 3)).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect((await get(owner, boxEnv, '/etc/hostname')).status).toBe(200);
    // Renter B: A's environment does not exist for them, files included.
    expect((await get(other, boxEnv, '/root/up.bin')).status).toBe(404);
    expect((await put(other, boxEnv, '/root/b.bin', 1024, 4)).status).toBe(404);
    const untouched = await docker(['exec', boxContainer, 'sh', '-c', 'ls /root/b.bin 2>&1 || true']);
    expect(untouched).toMatch(/No such file/);
  }, 60_000);

  it('streams 256 MiB both ways without holding it in the relay agent', async () => {
    const size = 256 * MiB;
    const before = await rssOf(agent.pid!);
    let peak = before;
    const sampler = setInterval(() => {
      void rssOf(agent.pid!).then((x) => {
        peak = Math.max(peak, x);
      });
    }, 100);
    try {
      expect(await put(owner, boxEnv, '/root/big.bin', size, 5)).toEqual({
        status: 201,
        body: { path: '/root/big.bin', bytes: size },
      });
      expect(await get(owner, boxEnv, '/root/big.bin')).toMatchObject({
        status: 200,
        bytes: size,
        sha256: sha256Of(size, 5),
      });
    } finally {
      clearInterval(sampler);
      await docker(['exec', boxContainer, 'rm', '-f', '/root/big.bin', '/root/up.bin']);
    }
    console.log(
      JSON.stringify({ rss_before_MiB: Math.round(before / MiB), rss_growth_MiB: Math.round((peak - before) / MiB) }),
    );
    expect(peak - before).toBeLessThan(96 * MiB); // a small fraction of the 512 MiB that went through
  }, 300_000);
});
