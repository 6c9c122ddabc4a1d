// HTTPS apps end to end: the edge in workerd, the real agent process (2 data shards), a busybox httpd in Docker, and Node
// servers on a loopback "physical machine" (127.0.0.3) for WebSockets, SSE and big bodies.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type Platform } from '../support/platform.ts';
import { until } from '../../dev/src/until.ts';
import { rentMachine } from '../../dev/src/rent-machine.ts';
import { docker, loadServices } from '../support/services.ts';
import {
  BLOCK,
  appGet,
  appGrant,
  appRequest,
  appSocket,
  expectedSha256,
  readAll,
  rssOf,
  startTargets,
  workerdPid,
  type Targets,
} from '../support/app-targets.ts';
import { freePort } from '../../dev/src/free-port.ts';

const MiB = 1024 * 1024;

describe('apps through the edge, the real agent and Docker', () => {
  let p: Platform;
  let agent: ChildProcess;
  let hostToken: string;
  const stateDir = mkdtempSync(join(tmpdir(), 'apps-agent-'));
  let owner: string;
  let other: string;
  let boxEnv: string;
  let nodeEnv: string;
  let targets: Targets;
  let sshListen = '';
  const spawn = () =>
    p.spawnAgent(hostToken, { stateDir, sshListen, sshPorts: '22000-22999', extraEnv: { REMOTEGPU_DATA_SHARDS: '2' } });
  const get = (envId: string, port: number, path: string, cookie?: string) =>
    appGet({ edgePort: p.port, envId, port, path, headers: cookie ? { cookie } : {} });
  const grants = new Map<string, string>();
  /** The app cookie `token`'s owner gets from a console link for that app (cached per app). */
  const grant = async (token: string, envId: string, port: number): Promise<string> => {
    const key = `${token}|${envId}|${port}`;
    if (!grants.has(key)) grants.set(key, await appGrant({ edgePort: p.port, token, envId, port }));
    return grants.get(key)!;
  };
  let ownerNode = '';

  beforeAll(async () => {
    const s = loadServices();
    p = await startPlatform();
    const admin = await p.admin();
    const host = await p.api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', {
      token: admin,
      body: { name: 'apps-relay', public_ssh_host: '127.0.0.1' },
    });
    hostToken = host.body.token;
    sshListen = `127.0.0.1:${await freePort()}`;
    agent = spawn();
    await until(
      'relay online',
      async () =>
        (
          await p.api<{ items: { id: string; status: string }[] }>('/api/v1/admin/hosts', { token: admin })
        ).body.items.find((h) => h.id === host.body.host.id)?.status === 'online',
      { timeout: 30_000 },
    );
    owner = await p.renter();
    other = await p.renter();
    const img = await p.api<{ image: { id: number } }>('/api/v1/admin/images', {
      token: admin,
      body: { name: 'busybox:apps', docker_ref: s.busyboxImage, hourly_price: 0.5 },
    });
    const box = await p.api<{ environment: { id: string; status: string; container_id: string } }>(
      '/api/v1/environments',
      { token: owner, body: { name: 'web', image_id: img.body.image.id, gpu_count: 0, cpu_cores: 1, memory_gb: 1 } },
    );
    expect(box.body.environment.status).toBe('running');
    boxEnv = box.body.environment.id;
    await docker([
      'exec',
      box.body.environment.container_id,
      'sh',
      '-c',
      'mkdir -p /www && echo "hello from busybox" > /www/index.html && httpd -p 8888 -h /www',
    ]);
    targets = await startTargets('127.0.0.3');
    ({ envId: nodeEnv } = await rentMachine(p.api, {
      admin,
      renter: owner,
      hostId: host.body.host.id,
      targetIp: '127.0.0.3',
      name: 'node-box',
    }));
    ownerNode = await grant(owner, nodeEnv, targets.port);
    await until('data shards up', async () => (await get(nodeEnv, targets.port, '/hello', ownerNode)).status === 200, {
      timeout: 20_000,
    });
  }, 180_000);

  afterAll(async () => {
    await targets?.close();
    await p?.close();
  }, 60_000);

  it('serves the busybox httpd in the container to its owner only; a console link becomes a cookie', async () => {
    expect((await get(boxEnv, 8888, '/')).status).toBe(403);
    // Console sessions never open apps (the session cookie is host-only), not the owner's, another renter's or an admin's.
    for (const token of [owner, other, await p.admin()])
      expect((await get(boxEnv, 8888, '/', `rg_session=${token}`)).status).toBe(403);
    expect((await get('zzzzzzzzzzzzzzzz', 8888, '/')).status).toBe(404);
    const link = await p.api<{ url: string }>(`/api/v1/environments/${boxEnv}/apps/8888/link`, {
      token: owner,
      body: {},
    });
    const u = new URL(link.body.url);
    expect(u.hostname).toBe(`${boxEnv}-8888.container.localhost`);
    const redeem = await appGet({ edgePort: p.port, envId: boxEnv, port: 8888, path: `${u.pathname}${u.search}` });
    expect(redeem.status).toBe(302);
    const cookie = String(redeem.headers['set-cookie']).split(';')[0]!;
    expect((await get(boxEnv, 8888, '/', cookie)).body.toString()).toBe('hello from busybox\n');
  });

  it('a public port answers without a session, and goes private again', async () => {
    expect(
      (await p.api(`/api/v1/environments/${boxEnv}/apps/8888`, { method: 'PUT', token: owner, body: { public: true } }))
        .status,
    ).toBe(200);
    await until('public port', async () => (await get(boxEnv, 8888, '/')).status === 200, { timeout: 10_000 });
    await p.api(`/api/v1/environments/${boxEnv}/apps/8888`, { method: 'PUT', token: owner, body: { public: false } });
    await until('private again', async () => (await get(boxEnv, 8888, '/')).status === 403, { timeout: 10_000 });
  });

  it('sets X-Forwarded-* and X-Real-IP, drops hop-by-hop headers and platform cookies', async () => {
    const r = await appGet({
      edgePort: p.port,
      envId: nodeEnv,
      port: targets.port,
      path: '/hello?q=1',
      headers: { cookie: `${ownerNode}; lang=zh`, 'x-drop': '1', connection: 'x-drop', te: 'trailers' },
    });
    const seen = JSON.parse(r.body.toString()) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/hello?q=1');
    expect(seen.headers).toMatchObject({
      'x-forwarded-for': '127.0.0.1',
      'x-real-ip': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': `${nodeEnv}-${targets.port}.container.localhost:${p.port}`,
      cookie: 'lang=zh',
    });
    expect(seen.headers['x-drop']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
  });

  it('bridges a WebSocket echo: text, binary, and close codes both ways', async () => {
    const ws = appSocket({ edgePort: p.port, envId: nodeEnv, port: targets.port, path: '/ws', cookie: ownerNode });
    const got: { data: Buffer; binary: boolean }[] = [];
    ws.on('message', (data: Buffer, binary: boolean) => got.push({ data, binary }));
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
    );
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    ws.send('héllo jupyter');
    ws.send(Buffer.from([0, 1, 2, 253, 254, 255]), { binary: true });
    await until('echoes', async () => got.length === 2, { timeout: 5000 });
    expect(got[0]).toEqual({ data: Buffer.from('héllo jupyter'), binary: false });
    expect(got[1]).toEqual({ data: Buffer.from([0, 1, 2, 253, 254, 255]), binary: true });
    ws.send('close:4001');
    expect(await closed).toEqual({ code: 4001, reason: 'closed by the app' });
    const ws2 = appSocket({ edgePort: p.port, envId: nodeEnv, port: targets.port, path: '/ws', cookie: ownerNode });
    await new Promise((r) => ws2.once('open', r));
    ws2.close(4002, 'browser tab closed');
    await until('close code at the app', async () => targets.closes.includes(4002), { timeout: 5000 });
    const denied = appSocket({ edgePort: p.port, envId: nodeEnv, port: targets.port, path: '/ws' });
    expect(await new Promise((r) => denied.once('unexpected-response', (_q, res) => r(res.statusCode)))).toBe(403);
  });

  it('flushes server-sent events one at a time', async () => {
    const { req, res } = appRequest({
      edgePort: p.port,
      envId: nodeEnv,
      port: targets.port,
      path: '/sse',
      headers: { cookie: ownerNode, 'accept-encoding': 'gzip' },
    });
    req.end();
    const r = await res;
    expect(r.headers['content-type']).toBe('text/event-stream');
    const times: number[] = [];
    for await (const chunk of r) for (const _ of String(chunk).matchAll(/data: event/g)) times.push(Date.now());
    expect(times).toHaveLength(5);
    for (let i = 1; i < 5; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThan(100); // 200 ms apart at the app
  });

  it('downloads 1 GiB and uploads 100 MiB intact, without holding them in the agent or workerd', async () => {
    const pids = [agent.pid!, await workerdPid()];
    const before = await Promise.all(pids.map(rssOf));
    const peak = [...before];
    const sampler = setInterval(() => {
      void Promise.all(pids.map(rssOf)).then((v) =>
        v.forEach((x, i) => {
          peak[i] = Math.max(peak[i]!, x);
        }),
      );
    }, 100);
    try {
      const size = 1024 * MiB;
      const { req, res } = appRequest({
        edgePort: p.port,
        envId: nodeEnv,
        port: targets.port,
        path: `/bytes/${size}`,
        headers: { cookie: ownerNode },
      });
      req.end();
      const r = await res;
      expect(r.headers['content-length']).toBe(String(size));
      const h = createHash('sha256');
      let n = 0;
      const t0 = Date.now();
      for await (const c of r) {
        h.update(c as Buffer);
        n += (c as Buffer).length;
      }
      const secs = (Date.now() - t0) / 1000;
      expect(n).toBe(size);
      expect(h.digest('hex')).toBe(expectedSha256(size));

      const upSize = 100 * MiB;
      const up = appRequest({
        edgePort: p.port,
        envId: nodeEnv,
        port: targets.port,
        path: '/sink',
        method: 'POST',
        headers: { cookie: ownerNode, 'content-length': String(upSize) },
      });
      const uh = createHash('sha256');
      for (let sent = 0; sent < upSize; sent += BLOCK.length) {
        uh.update(BLOCK);
        if (!up.req.write(BLOCK)) await new Promise((r2) => up.req.once('drain', r2));
      }
      up.req.end();
      const answer = JSON.parse((await readAll(await up.res)).toString()) as { bytes: number; sha256: string };
      expect(answer).toEqual({ bytes: upSize, sha256: uh.digest('hex') });
      const growth = peak.map((x, i) => x - before[i]!);
      console.log(
        JSON.stringify({
          download_MBps: Math.round(size / 1e6 / secs),
          rss_before_MiB: before.map((x) => Math.round(x / MiB)),
          rss_growth_MiB: growth.map((x) => Math.round(x / MiB)),
        }),
      );
      for (const g of growth) expect(g).toBeLessThan(200 * MiB); // far below the 1 GiB that went through
    } finally {
      clearInterval(sampler);
    }
  }, 180_000);

  it('the agent killed mid-download: the client sees an aborted stream; after the reconnect the next request works', async () => {
    const { req, res } = appRequest({
      edgePort: p.port,
      envId: nodeEnv,
      port: targets.port,
      path: `/bytes/${4096 * MiB}`,
      headers: { cookie: ownerNode },
    });
    req.end();
    const r = await res;
    let got = 0;
    const outcome = new Promise<string>((resolve) => {
      r.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= 16 * MiB && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
      });
      r.on('error', (e) => resolve(`error: ${e.message}`));
      r.on('end', () => resolve(`end after ${got}`));
    });
    expect(await outcome).toMatch(/^error: aborted/);
    expect(got).toBeLessThan(4096 * MiB);
    expect((await get(nodeEnv, targets.port, '/hello', ownerNode)).status).toBe(502);
    agent = spawn();
    await until(
      'requests after the reconnect',
      async () => (await get(nodeEnv, targets.port, '/hello', ownerNode)).status === 200,
      { timeout: 30_000 },
    );
    expect((await get(boxEnv, 8888, '/', await grant(owner, boxEnv, 8888))).body.toString()).toBe(
      'hello from busybox\n',
    );
  }, 60_000);
});
