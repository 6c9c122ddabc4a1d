// App hosts through the Worker and a data shard: routing, access (owner, link, public, renter B, admin), headers, streaming, WebSockets.
import { exports as workerExports, env } from 'cloudflare:workers';
import { dataShardName, shardOf, type OpenHead } from '@remotegpu/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRequestHeaders } from '../src/tunnel/shard-request.ts';
import { DataAgent } from './apps-agent.ts';
import { TestAgent, admin, createHost, json, registerUser, physicalEnv } from './helpers.ts';

const worker = (workerExports as unknown as { default: { fetch(req: Request): Promise<Response> } }).default;
const ns = (env as unknown as { DATA_SHARD: DurableObjectNamespace }).DATA_SHARD;

const grants = new Map<string, string>();
/** The owner's host-only app cookie for one app, the way a browser gets it: a one-use console link, redeemed once. */
async function grant(user: { token: string }, envId: string, port: number): Promise<string> {
  const key = `${user.token}|${envId}|${port}`;
  let cookie = grants.get(key);
  if (!cookie) {
    const link = await json<{ url: string }>(`/api/v1/environments/${envId}/apps/${port}/link`, {
      token: user.token,
      body: {},
    });
    if (link.status !== 200) throw new Error(`link failed ${link.status} ${JSON.stringify(link.body)}`);
    const r = await worker.fetch(new Request(link.body.url, { redirect: 'manual' }));
    cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    grants.set(key, cookie);
  }
  return cookie;
}

/** A request to an app host; `as` sends that user's app cookie for it (before any other `cookie`). */
async function app(
  envId: string,
  path: string,
  init: RequestInit & { cookie?: string; port?: number; as?: { token: string } } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  const port = init.port ?? 8888;
  const cookies = [init.as ? await grant(init.as, envId, port) : '', init.cookie ?? ''].filter(Boolean);
  if (cookies.length) headers.set('cookie', cookies.join('; '));
  return worker.fetch(new Request(`http://${envId}-${port}.container.localhost${path}`, { ...init, headers }));
}

describe('apps through the tunnel', () => {
  let owner: { token: string; id: string };
  let other: { token: string };
  let hostId: string;
  let envId: string;
  let agent: DataAgent;

  beforeAll(async () => {
    owner = await registerUser();
    other = await registerUser();
    const host = await createHost();
    hostId = host.id;
    envId = await physicalEnv(host.id, owner);
    agent = await DataAgent.connect(host.token);
  });
  afterAll(() => agent.close());

  it('answers 404 for an unknown environment and leaves other hosts to the API', async () => {
    const r = await app('zzzzzzzzzzzzzzzz', '/echo');
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ error: { code: 'not_found' } });
    expect((await worker.fetch(new Request('http://edge.test/healthz'))).status).toBe(200);
    expect((await worker.fetch(new Request(`http://${envId}-8888.container.example.org/echo`))).status).not.toBe(403);
  });

  it("refuses no grant, console sessions and renter B's grant (403, HTML for browsers), serves the owner's app cookie", async () => {
    const none = await app(envId, '/echo');
    expect(none.status).toBe(403);
    expect(await none.json()).toMatchObject({ error: { code: 'forbidden' } });
    const page = await app(envId, '/echo', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(403);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('No access to this app');
    // Console session cookies never open apps (they are host-only and never sent here), not even the owner's.
    for (const token of [other.token, await admin(), owner.token]) {
      expect((await app(envId, '/echo', { cookie: `rg_session=${token}` })).status).toBe(403);
    }
    // Renter B's own app cookie (as a page of B's app could plant for the parent domain) does not open A's app,
    // nor does it hide the owner's own cookie sent beside it.
    const otherEnv = await physicalEnv(hostId, other);
    const planted = await grant(other, otherEnv, 8888);
    expect((await app(envId, '/echo', { cookie: planted })).status).toBe(403);
    expect((await app(envId, '/echo', { cookie: `${planted}; ${await grant(owner, envId, 8888)}` })).status).toBe(200);
    const ok = await app(envId, '/echo', { as: owner });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ environment_id: envId, port: 8888, method: 'GET', path: '/echo' });
  });

  it('turns a one-use console link into a host-only cookie and strips the token', async () => {
    expect((await json(`/api/v1/environments/${envId}/apps/8888/link`, { token: other.token, body: {} })).status).toBe(
      404,
    );
    expect(
      (await json(`/api/v1/environments/${envId}/apps/8888/link`, { token: await admin(), body: {} })).status,
    ).toBe(403);
    const link = await json<{ url: string }>(`/api/v1/environments/${envId}/apps/8888/link`, {
      token: owner.token,
      body: { path: '/echo?x=1' },
    });
    expect(link.status).toBe(200);
    const url = new URL(link.body.url);
    expect(url.host).toBe(`${envId}-8888.container.localhost`);
    const r = await worker.fetch(new Request(url, { redirect: 'manual' }));
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe('/echo?x=1');
    const cookie = r.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^rg_app=[^;]+; Path=\/; HttpOnly; SameSite=Lax/);
    expect(cookie).not.toContain('Domain=');
    expect((await worker.fetch(new Request(url, { redirect: 'manual' }))).status).toBe(403); // used once
    const ok = await app(envId, '/echo', { cookie: `${cookie.split(';')[0]}; theme=dark` });
    expect(ok.status).toBe(200);
    const open = await ok.json<OpenHead>();
    expect(open.headers.find(([k]) => k === 'cookie')).toEqual(['cookie', 'theme=dark']); // platform cookies never reach the app
    expect((await app(envId, '/echo', { port: 6006, cookie: cookie.split(';')[0] })).status).toBe(403); // another port, another grant
  });

  it('makes a port public and private again through the API', async () => {
    expect(
      (
        await json(`/api/v1/environments/${envId}/apps/6006`, {
          method: 'PUT',
          token: other.token,
          body: { public: true },
        })
      ).status,
    ).toBe(404);
    const put = await json(`/api/v1/environments/${envId}/apps/6006`, {
      method: 'PUT',
      token: owner.token,
      body: { public: true },
    });
    expect(put.status).toBe(200);
    expect((await app(envId, '/echo', { port: 6006 })).status).toBe(200);
    expect((await app(envId, '/echo')).status).toBe(403);
    const list = await json<{ items: { port: number; public: boolean; url: string }[] }>(
      `/api/v1/environments/${envId}/apps`,
      { token: owner.token },
    );
    expect(list.body.items).toEqual([
      { port: 6006, public: true, first_byte_timeout_ms: null, url: `http://${envId}-6006.container.localhost/` },
      { port: 8888, public: false, first_byte_timeout_ms: null, url: `http://${envId}-8888.container.localhost/` },
    ]);
    await json(`/api/v1/environments/${envId}/apps/6006`, {
      method: 'PUT',
      token: owner.token,
      body: { public: false },
    });
    expect((await app(envId, '/echo', { port: 6006 })).status).toBe(403);
  });

  it("sets an owner's first-byte deadline per port (validated; sharing left as it was), and clears it", async () => {
    const put = (body: unknown) =>
      json<{ port: number; public: boolean; first_byte_timeout_ms: number | null }>(
        `/api/v1/environments/${envId}/apps/7000`,
        { method: 'PUT', token: owner.token, body },
      );
    for (const bad of [
      {},
      { first_byte_timeout_ms: 999 },
      { first_byte_timeout_ms: 86_400_001 },
      { first_byte_timeout_ms: 1.5e3 + 0.5 },
      { first_byte_timeout_ms: '5000' },
      { public: true, extra: 1 },
    ]) {
      const r = await put(bad);
      expect(r.status).toBe(422);
      expect(r.body).toMatchObject({ error: { code: 'validation_failed' } });
    }
    expect((await put({ public: true })).body).toMatchObject({ public: true, first_byte_timeout_ms: null });
    expect((await put({ first_byte_timeout_ms: 30_000 })).body).toMatchObject({
      port: 7000,
      public: true,
      first_byte_timeout_ms: 30_000,
    });
    const list = await json<{ items: { port: number; first_byte_timeout_ms: number | null }[] }>(
      `/api/v1/environments/${envId}/apps`,
      { token: owner.token },
    );
    expect(list.body.items.find((i) => i.port === 7000)?.first_byte_timeout_ms).toBe(30_000);
    expect((await put({ first_byte_timeout_ms: null, public: false })).body).toMatchObject({
      public: false,
      first_byte_timeout_ms: null,
    });
  });

  it('drops hop-by-hop headers both ways and sets X-Forwarded-* and X-Real-IP', async () => {
    const r = await app(envId, '/echo', {
      as: owner,
      headers: {
        connection: 'keep-alive, x-drop-me',
        'x-drop-me': '1',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'proxy-authorization': 'Basic eA==',
        'x-forwarded-for': '10.0.0.1',
        'x-real-ip': '6.6.6.6',
        'cf-connecting-ip': '203.0.113.7',
        'x-keep': 'yes',
      },
    });
    const open = await r.json<OpenHead>();
    const h = new Map(open.headers);
    for (const gone of ['connection', 'x-drop-me', 'keep-alive', 'te', 'proxy-authorization', 'cf-connecting-ip'])
      expect(h.has(gone)).toBe(false);
    expect(h.get('x-keep')).toBe('yes');
    expect(h.get('x-forwarded-for')).toBe('10.0.0.1, 203.0.113.7');
    expect(h.get('x-real-ip')).toBe('203.0.113.7');
    expect(h.get('x-forwarded-proto')).toBe('http');
    expect(h.get('x-forwarded-host')).toBe(`${envId}-8888.container.localhost`);
    expect(r.headers.get('x-app-hop')).toBeNull(); // named in the app's Connection header
    expect(r.headers.get('connection')).toBeNull();
  });

  it('streams a response as it comes (SSE, no gzip buffering) and uploads under credit', async () => {
    const r = await app(envId, '/stream', { as: owner, headers: { 'accept-encoding': 'gzip' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const reader = r.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('data: one\n\n'); // before the app sent the rest
    agent.release();
    let rest = '';
    for (let c = await reader.read(); !c.done; c = await reader.read()) rest += new TextDecoder().decode(c.value);
    expect(rest).toBe('data: two\n\n');

    const body = new Uint8Array(6 * 1024 * 1024).map((_, i) => i & 0xff); // past the 4 MiB initial credit
    let hash = 0;
    for (const b of body) hash = (hash * 31 + b) >>> 0;
    const up = await app(envId, '/upload', { method: 'POST', body, as: owner });
    expect(await up.json()).toEqual({ bytes: body.byteLength, hash });
  });

  it('downloads past the credit window, and one unread body does not stall other requests', async () => {
    const before = agent.credits.length;
    const big = await app(envId, `/big/${12 * 1024 * 1024}`, { as: owner });
    expect(big.headers.get('content-length')).toBe(String(12 * 1024 * 1024));
    const stalled = await app(envId, `/big/${16 * 1024 * 1024}`, { as: owner }); // never read
    const quick = await app(envId, '/echo', { as: owner });
    expect(quick.status).toBe(200);
    expect((await big.arrayBuffer()).byteLength).toBe(12 * 1024 * 1024);
    expect(agent.credits.length).toBeGreaterThan(before);
    await stalled.body!.cancel();
    await expect.poll(() => agent.resets.some((x) => x.code === 4)).toBe(true); // cancelled: the agent frees the stream
  });

  it('answers 502 for a reset stream and 504 past the first-byte deadline', async () => {
    const r = await app(envId, '/reset', { as: owner });
    expect(r.status).toBe(502);
    expect(await r.json()).toMatchObject({
      error: { code: 'bad_gateway', message: expect.stringContaining('ECONNREFUSED') },
    });
    const open: OpenHead = {
      environment_id: envId,
      port: 8888,
      method: 'GET',
      path: '/hang',
      headers: [],
      websocket: false,
      has_body: false,
    };
    const stub = ns.get(ns.idFromName(dataShardName(hostId, 0)));
    const late = await stub.fetch('https://data.tunnel/open', { headers: openRequestHeaders(open, 150) });
    expect(late.status).toBe(504);
    await expect.poll(() => agent.resets.some((x) => x.code === 3)).toBe(true);
  });

  it('bridges a WebSocket: text, binary, and close codes both ways', async () => {
    const r = await app(envId, '/api/kernels/1/channels', {
      as: owner,
      headers: { upgrade: 'websocket', 'sec-websocket-protocol': 'jupyter' },
    });
    expect(r.status).toBe(101);
    expect(r.headers.get('sec-websocket-protocol')).toBe('jupyter');
    const ws = r.webSocket!;
    ws.accept();
    const got: (string | ArrayBuffer)[] = [];
    let closed: { code: number; reason: string } | null = null;
    ws.addEventListener('message', (e) => got.push(e.data as string | ArrayBuffer));
    ws.addEventListener('close', (e) => {
      closed = { code: e.code, reason: e.reason };
    });
    ws.send('héllo');
    ws.send(new Uint8Array([0, 1, 2, 255]));
    await expect.poll(() => got.length).toBe(2);
    expect(got[0]).toBe('héllo');
    const bin = got[1] as ArrayBuffer | Blob; // this client gets binary messages as Blobs
    expect([...new Uint8Array(bin instanceof Blob ? await bin.arrayBuffer() : bin)]).toEqual([0, 1, 2, 255]);
    // Over one tunnel frame: sent as parts, joined again on the way back; a multi-byte character straddles each boundary.
    const bigText = 'é'.repeat(1_600_000);
    ws.send(bigText);
    await expect.poll(() => got.length, { timeout: 10_000 }).toBe(3);
    expect(got[2] === bigText).toBe(true);
    expect(agent.wsParts).toBe(3); // 3.2 MB in 1 MiB frames: three parts and the final message
    ws.send('close-me');
    await expect.poll(() => closed).toEqual({ code: 4100, reason: 'app says bye' });

    const r2 = await app(envId, '/ws2', { as: owner, headers: { upgrade: 'websocket' } });
    const ws2 = r2.webSocket!;
    ws2.accept();
    ws2.close(4321, 'browser leaves');
    await expect.poll(() => agent.wsCloses.some((c) => c.code === 4321 && c.reason === 'browser leaves')).toBe(true);
  });

  it('fails streams cleanly when the relay goes away, and answers 502 host_offline while it is gone', async () => {
    const r = await app(envId, '/stream', { as: owner });
    const reader = r.body!.getReader();
    await reader.read();
    agent.close();
    await expect(reader.read()).rejects.toThrow(/data connection closed/);
    const off = await app(envId, '/echo', { as: owner });
    expect(off.status).toBe(502);
    expect(await off.json()).toMatchObject({ error: { code: 'host_offline' } });
  });
});

describe('data shards', () => {
  it('sends each environment to the shard its id hashes to, and refuses a bad shard query', async () => {
    const owner = await registerUser();
    const host = await createHost();
    expect(
      (
        await (
          await import('./helpers.ts')
        ).call('/agent/connect?role=data&shard=2&shards=2', { token: host.token, headers: { upgrade: 'websocket' } })
      ).status,
    ).toBe(400);
    const shards = [await DataAgent.connect(host.token, 0, 2), await DataAgent.connect(host.token, 1, 2)];
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await physicalEnv(host.id, owner));
    for (const id of ids) {
      const r = await app(id, '/echo', { as: owner });
      expect(r.status).toBe(200);
      expect(shards[shardOf(id, 2)]!.opens.some((o) => o.environment_id === id)).toBe(true);
      expect(shards[1 - shardOf(id, 2)]!.opens.some((o) => o.environment_id === id)).toBe(false);
    }
    for (const s of shards) s.close();
  });

  // Decides whether a shard's browser WebSockets can hibernate (workerd evicts an idle object after 10 s when all its
  // sockets are hibernatable). The control tunnel beside it shows the eviction does happen in this runtime.
  it("never hibernates while the agent's data socket is open, so browser sockets need no attachment; an idle control tunnel does hibernate", async () => {
    const { runInDurableObject } = await import('cloudflare:test');
    const owner = await registerUser();
    const host = await createHost();
    const envId = await physicalEnv(host.id, owner);
    const data = await DataAgent.connect(host.token);
    const control = await TestAgent.connect(host.token);
    await control.ready();
    const browser = (await app(envId, '/idle', { as: owner, headers: { upgrade: 'websocket' } })).webSocket!;
    browser.accept();
    const got: unknown[] = [];
    browser.addEventListener('message', (e) => {
      got.push(e.data);
    });
    const hostNs = (env as unknown as { HOST_TUNNEL: DurableObjectNamespace }).HOST_TUNNEL;
    const shard = ns.get(ns.idFromName(dataShardName(host.id, 0)));
    const tunnel = hostNs.get(hostNs.idFromName(host.id));
    const mark = (i: unknown) => {
      (i as { probe?: number }).probe = 1;
    };
    const probe = (i: unknown) => (i as { probe?: number }).probe;
    await runInDurableObject(shard, mark);
    await runInDurableObject(tunnel, mark);
    await new Promise((r) => setTimeout(r, 12_000)); // all idle: no pings, no frames
    expect(await runInDurableObject(tunnel, probe)).toBeUndefined(); // evicted: a fresh instance
    expect(await runInDurableObject(shard, probe)).toBe(1); // the same instance, in memory all along
    browser.send('still here');
    await expect.poll(() => got).toEqual(['still here']);
    browser.close(1000, 'done');
    data.close();
    control.close();
  }, 30_000);
});
