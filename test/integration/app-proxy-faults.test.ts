// The app proxy as users break it (issue 10 §4): big WebSocket messages, curl's Expect: 100-continue, a slow body, a slow
// first byte, Node's keep-alive racing the relay's pool, bodies the edge refuses unread; and the relay's log of each failure.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/src/free-port.ts';
import { rentMachine } from '../../dev/src/rent-machine.ts';
import { startPlatform, type Platform } from '../support/platform.ts';
import { until } from '../../dev/src/until.ts';
import {
  appGet,
  appGrant,
  appHost,
  appRequest,
  appSocket,
  expectedSha256,
  readAll,
  startTargets,
  type Targets,
} from '../support/app-targets.ts';

const MiB = 1024 * 1024;
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('app proxy faults, reproduced as users hit them', () => {
  let p: Platform;
  let owner: string;
  let env: string;
  let targets: Targets;
  const logs: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'app-faults-'));
  let grant = '';
  /** The owner's app cookie for the test app (from a one-use console link, as a browser gets it). */
  const cookie = () => grant;
  const get = (path: string, o: { agent?: Agent } = {}) =>
    appGet({ edgePort: p.port, envId: env, port: targets.port, path, headers: { cookie: cookie() }, ...o });
  /** The relay's log lines (JSON) for app proxy failures since `from`. */
  const failures = (from: number) =>
    logs
      .slice(from)
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      })
      .filter((l) => l['msg'] === 'app proxy failure');

  beforeAll(async () => {
    p = await startPlatform();
    const admin = await p.admin();
    const host = await p.api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', {
      token: admin,
      body: { name: 'faults-relay', public_ssh_host: '127.0.0.1' },
    });
    // Default log level: what an operator sees without asking for more.
    p.spawnAgent(host.body.token, {
      stateDir: dir,
      sshListen: `127.0.0.1:${await freePort()}`,
      sshPorts: '21000-21999',
      logLines: logs,
    });
    await until(
      'relay online',
      async () =>
        (
          await p.api<{ items: { id: string; status: string }[] }>('/api/v1/admin/hosts', { token: admin })
        ).body.items.find((h) => h.id === host.body.host.id)?.status === 'online',
      { timeout: 30_000 },
    );
    owner = await p.renter();
    targets = await startTargets('127.0.0.4');
    ({ envId: env } = await rentMachine(p.api, {
      admin,
      renter: owner,
      hostId: host.body.host.id,
      targetIp: '127.0.0.4',
      name: 'faults-box',
    }));
    grant = await appGrant({ edgePort: p.port, token: owner, envId: env, port: targets.port });
    await until('data shard up', async () => (await get('/hello')).status === 200, { timeout: 20_000 });
  }, 180_000);

  afterAll(async () => {
    await targets?.close();
    await p?.close();
  }, 60_000);

  it('WebSocket messages of 1.1 MB text, 4 MiB and 32 MiB binary echo back intact; the app sends 64 MiB intact', async () => {
    const ws = appSocket({ edgePort: p.port, envId: env, port: targets.port, path: '/ws', cookie: cookie() });
    const got: { data: Buffer; binary: boolean }[] = [];
    ws.on('message', (data: Buffer, binary: boolean) => got.push({ data, binary }));
    let closed: number | null = null;
    ws.on('close', (code) => {
      closed = code;
    });
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    // Three-byte characters straddle the 1 MiB frame boundaries: a character split and decoded apart would come back different.
    const text = '€'.repeat(366_667) + 'end';
    const small = randomBytes(4 * MiB);
    // 32 MiB is the most workerd (and Cloudflare) accepts from a browser in one message.
    const big = randomBytes(32 * MiB);
    ws.send(text);
    ws.send(small, { binary: true });
    ws.send(big, { binary: true });
    ws.send(`send:${64 * MiB}`);
    ws.send('after');
    await until('five messages', async () => got.length === 5 || closed !== null, { timeout: 60_000 });
    expect(closed).toBeNull();
    expect(got.map((g) => g.binary)).toEqual([false, true, true, true, false]);
    expect(got[0]!.data.toString('utf8') === text).toBe(true);
    expect(sha(got[1]!.data)).toBe(sha(small));
    expect(sha(got[2]!.data)).toBe(sha(big));
    expect(got[3]!.data.length).toBe(64 * MiB);
    expect(sha(got[3]!.data)).toBe(expectedSha256(64 * MiB));
    expect(got[4]!.data.toString()).toBe('after');
    ws.close(1000);
  }, 90_000);

  it('a browser message over the limit closes with 1009 on both sides, logged once by the relay', async () => {
    const from = logs.length;
    const ws = appSocket({ edgePort: p.port, envId: env, port: targets.port, path: '/ws', cookie: cookie() });
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    ws.send(Buffer.alloc(33 * MiB), { binary: true });
    expect(await closed).toBe(1009);
    await until('1009 at the app', async () => targets.closes.includes(1009), { timeout: 10_000 });
    await until('a log line', async () => failures(from).some((l) => l['code'] === 1009), { timeout: 5000 });
    expect(failures(from).filter((l) => l['kind'] === 'websocket')).toHaveLength(1);
    expect(failures(from)[0]).toMatchObject({ level: 'warn', env_id: env, peer: `127.0.0.4:${targets.port}` });
  }, 60_000);

  it("curl's own Expect: 100-continue upload (a 3 MiB PUT) neither stalls nor fails, even when curl waits for the 100", async () => {
    const file = join(dir, 'upload.bin');
    const body = randomBytes(3 * MiB);
    writeFileSync(file, body);
    for (const wait of ['1', '30']) {
      const t0 = Date.now();
      const { stdout } = await run('curl', [
        '-sS',
        '--expect100-timeout',
        wait,
        '-T',
        file,
        '-H',
        `host: ${appHost(env, targets.port, p.port)}`,
        '-b',
        cookie(),
        '-w',
        '\n%{http_code}',
        `http://127.0.0.1:${p.port}/sink`,
      ]);
      const [json, status] = stdout.split('\n');
      expect(status).toBe('200');
      expect(JSON.parse(json!)).toEqual({ bytes: body.length, sha256: sha(body) });
      expect(Date.now() - t0).toBeLessThan(5000);
    }
  }, 60_000);

  it('a body that starts 6 s after its head reaches the app (the head goes at once, before its keep-alive timer)', async () => {
    await get('/hello'); // leaves a kept-alive connection in the relay's pool, as any earlier request would
    const ka = new Agent({ keepAlive: true });
    const { req, res } = appRequest({
      edgePort: p.port,
      envId: env,
      port: targets.port,
      path: '/sink',
      method: 'POST',
      agent: ka,
      headers: { cookie: cookie(), 'content-length': '5' },
    });
    req.flushHeaders();
    await sleep(6000);
    req.end('hello');
    const r = await res;
    expect(r.statusCode).toBe(200);
    expect(JSON.parse((await readAll(r)).toString())).toEqual({ bytes: 5, sha256: sha(Buffer.from('hello')) });
    ka.destroy();
  }, 30_000);

  it('a request ~5 s after the previous one (Node closes idle sockets at 5 s) gets its answer', async () => {
    for (const gap of [4900, 5000, 5050]) {
      expect((await get('/hello')).status).toBe(200);
      await sleep(gap);
      expect((await get('/hello')).status).toBe(200);
    }
  }, 60_000);

  it('a GET whose reused connection dies before any response byte is retried on a fresh one', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await get('/hello')).status).toBe(200);
      const r = await get('/drop-reused');
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.toString())).toEqual({ waited_ms: 0, request_on_socket: 1 });
    }
  });

  it('a POST refused unread (403 on a private app, 401 on the API) leaves the kept-alive connection usable', async () => {
    const ka = new Agent({ keepAlive: true, maxSockets: 1 });
    const body = Buffer.alloc(64 * 1024, 7);
    let resets = 0;
    for (let i = 0; i < 120; i++) {
      const app = i % 2 === 0;
      const { req, res } = app
        ? appRequest({
            edgePort: p.port,
            envId: env,
            port: targets.port,
            path: '/sink',
            method: 'POST',
            agent: ka,
            headers: { 'content-type': 'application/octet-stream' },
          })
        : appRequest({ edgePort: p.port, envId: env, port: targets.port, path: '/', method: 'POST', agent: ka });
      if (!app) {
        // The console API on the same connection: no bearer token, so 401 before the body is read.
        req.setHeader('host', `127.0.0.1:${p.port}`);
        req.path = '/api/v1/tokens';
        req.setHeader('content-type', 'application/json');
      }
      req.end(body);
      try {
        const r = await res;
        expect(r.statusCode).toBe(app ? 403 : 401);
        await readAll(r);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') resets++;
        else throw err;
      }
    }
    ka.destroy();
    expect(resets).toBe(0);
  }, 60_000);

  it('a slow first byte (101 s) is answered: no cap unless the owner sets one', async () => {
    const r = await get('/slow/101000');
    expect(r.status).toBe(200);
  }, 130_000);

  it("the owner's per-port cap answers 504, shows in the app list, and the relay logs the failure once", async () => {
    const put = await p.api<{ port: number; first_byte_timeout_ms: number | null }>(
      `/api/v1/environments/${env}/apps/${targets.port}`,
      { method: 'PUT', token: owner, body: { first_byte_timeout_ms: 1000 } },
    );
    expect(put.status).toBe(200);
    expect(put.body.first_byte_timeout_ms).toBe(1000);
    const list = await p.api<{ items: { port: number; public: boolean; first_byte_timeout_ms: number | null }[] }>(
      `/api/v1/environments/${env}/apps`,
      { token: owner },
    );
    expect(list.body.items.find((i) => i.port === targets.port)).toMatchObject({
      public: false,
      first_byte_timeout_ms: 1000,
    });
    expect(
      (
        await p.api(`/api/v1/environments/${env}/apps/${targets.port}`, {
          method: 'PUT',
          token: owner,
          body: { first_byte_timeout_ms: 5 },
        })
      ).status,
    ).toBe(422);
    const from = logs.length;
    await until('504 under the cap', async () => (await get('/slow/3000')).status === 504, { timeout: 20_000 });
    await until('a log line', async () => failures(from).length > 0, { timeout: 5000 });
    const line = failures(from)[0]!;
    expect(line).toMatchObject({ level: 'warn', env_id: env, peer: `127.0.0.4:${targets.port}` });
    expect(String(line['reason'])).toMatch(/no response|deadline|1000 ms/);
    await p.api(`/api/v1/environments/${env}/apps/${targets.port}`, {
      method: 'PUT',
      token: owner,
      body: { first_byte_timeout_ms: null },
    });
    await until('cap removed', async () => (await get('/slow/1500')).status === 200, { timeout: 20_000 });
  }, 60_000);

  it('a 502 (the app refuses the connection) is one warn line in the relay log, with env_id, reason and peer', async () => {
    const from = logs.length;
    const portOne = await appGrant({ edgePort: p.port, token: owner, envId: env, port: 1 });
    const refused = await appGet({ edgePort: p.port, envId: env, port: 1, path: '/', headers: { cookie: portOne } });
    expect(refused.status).toBe(502);
    await until('log lines', async () => failures(from).length >= 1, { timeout: 5000 });
    const lines = failures(from);
    expect(lines.find((l) => l['peer'] === '127.0.0.4:1')).toMatchObject({
      level: 'warn',
      env_id: env,
      reason: expect.stringMatching(/ECONNREFUSED/),
    });
    expect(lines.filter((l) => l['peer'] === '127.0.0.4:1')).toHaveLength(1);
  });
});
