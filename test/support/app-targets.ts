// App servers a "physical" target can run on a loopback address (HTTP bodies, SSE, WebSocket echo), and a client that reaches them through the edge.
import { createHash } from 'node:crypto';
import {
  createServer,
  request,
  type Agent,
  type ClientRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';

/** The body `/bytes/<n>` sends: this 64 KiB block over and over, so a client can check what arrived. */
export const BLOCK = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919 + (i >> 8)) & 0xff));

/** `bytes` of BLOCK over and over, as one buffer. */
function blockBytes(bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  for (let n = 0; n < bytes; n += BLOCK.length) BLOCK.copy(out, n, 0, Math.min(BLOCK.length, bytes - n));
  return out;
}

export function expectedSha256(bytes: number): string {
  const h = createHash('sha256');
  for (let n = 0; n < bytes; n += BLOCK.length)
    h.update(n + BLOCK.length <= bytes ? BLOCK : BLOCK.subarray(0, bytes - n));
  return h.digest('hex');
}

/** Streams `total` bytes of `block` with backpressure (never more than one block buffered). */
export function sendBytes(res: ServerResponse, total: number, block: Buffer = BLOCK): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(block.length, total - sent);
      sent += n;
      if (!res.write(n === block.length ? block : block.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.on('close', () => {
    sent = total;
  });
  pump();
}

export interface Targets {
  host: string;
  port: number;
  server: Server;
  /** Close codes the WebSocket echo server received from clients. */
  closes: number[];
  close(): Promise<void>;
}

/**
 * `/hello` echoes the request head; `/bytes/<n>` a body; `/sink` hashes a body; `/sse` five events 200 ms apart; `/ws` echoes;
 * `/slow/<ms>` answers after ms; `/drop-reused` drops a kept-alive connection it sees a second request on (a keep-alive
 * race at its worst). Node's default keep-alive (5 s) on purpose: the tunnel must live with it.
 */
export async function startTargets(host: string, port = 0): Promise<Targets> {
  const requestsOn = new WeakMap<object, number>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const nth = (requestsOn.get(req.socket) ?? 0) + 1;
    requestsOn.set(req.socket, nth);
    if (url.pathname === '/drop-reused' && nth > 1) {
      req.socket.destroy();
    } else if (url.pathname === '/drop-reused' || url.pathname.startsWith('/slow/')) {
      const ms = url.pathname === '/drop-reused' ? 0 : Number(url.pathname.slice(6));
      const timer = setTimeout(() => res.end(JSON.stringify({ waited_ms: ms, request_on_socket: nth })), ms);
      res.on('close', () => clearTimeout(timer));
    } else if (url.pathname === '/hello') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
    } else if (url.pathname.startsWith('/bytes/')) {
      sendBytes(res, Number(url.pathname.slice(7)));
    } else if (url.pathname === '/sink') {
      const h = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        h.update(c);
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: h.digest('hex') })));
    } else if (url.pathname === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const timer = setInterval(() => {
        res.write(`id: ${i}\ndata: event ${i}\n\n`);
        if (++i === 5) {
          clearInterval(timer);
          res.end();
        }
      }, 200);
      res.on('close', () => clearInterval(timer));
    } else {
      res.writeHead(404).end('not here');
    }
  });
  const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
  const closes: number[] = [];
  wss.on('connection', (ws) => {
    ws.on('close', (code) => closes.push(code));
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (text?.startsWith('close:')) ws.close(Number(text.slice(6)), 'closed by the app');
      else if (text?.startsWith('send:'))
        ws.send(blockBytes(Number(text.slice(5))), { binary: true }); // one message of n bytes
      else ws.send(isBinary ? data : (text ?? ''), { binary: isBinary });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    host,
    port: (server.address() as { port: number }).port,
    server,
    closes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const appHost = (envId: string, port: number, edgePort: number, domain = 'localhost') =>
  `${envId}-${port}.container.${domain}:${edgePort}`;

/** A request to an app through the edge: connect to loopback, name the app in Host (Node resolves no *.localhost here). End `req` to send it. */
export function appRequest(o: {
  edgePort: number;
  envId: string;
  port: number;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  agent?: Agent;
}): { req: ClientRequest; res: Promise<IncomingMessage> } {
  const req = request({
    host: '127.0.0.1',
    port: o.edgePort,
    method: o.method ?? 'GET',
    path: o.path,
    agent: o.agent,
    headers: { host: appHost(o.envId, o.port, o.edgePort), ...o.headers },
  });
  const res = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  return { req, res };
}

/** GET through the edge: status, headers and the whole body. */
export async function appGet(
  o: Parameters<typeof appRequest>[0],
): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  const { req, res } = appRequest(o);
  req.end();
  const r = await res;
  return { status: r.statusCode ?? 0, headers: r.headers, body: await readAll(r) };
}

/**
 * The owner's host-only app cookie (`rg_app=…`) for one app, as a browser gets it: ask the API for a one-use link
 * (`POST /api/v1/environments/:id/apps/:port/link` with `token`) and open it on the app host.
 */
export async function appGrant(o: { edgePort: number; token: string; envId: string; port: number }): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${o.edgePort}/api/v1/environments/${o.envId}/apps/${o.port}/link`, {
    method: 'POST',
    headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  if (res.status !== 200) throw new Error(`app link: ${res.status} ${await res.text()}`);
  const link = new URL(((await res.json()) as { url: string }).url);
  const opened = await appGet({
    edgePort: o.edgePort,
    envId: o.envId,
    port: o.port,
    path: `${link.pathname}${link.search}`,
  });
  const cookie = opened.headers['set-cookie']?.[0];
  if (opened.status !== 302 || !cookie) throw new Error(`app link answered ${opened.status}`);
  return cookie.split(';')[0]!;
}

export async function readAll(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function appSocket(o: {
  edgePort: number;
  envId: string;
  port: number;
  path: string;
  cookie?: string;
}): WebSocket {
  return new WebSocket(`ws://127.0.0.1:${o.edgePort}${o.path}`, {
    headers: { host: appHost(o.envId, o.port, o.edgePort), ...(o.cookie ? { cookie: o.cookie } : {}) },
    perMessageDeflate: false,
  });
}

/** Resident memory of a process in bytes (VmRSS), or 0 when it is gone. */
export async function rssOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** The newest `workerd` child of this process (Miniflare's). */
export async function workerdPid(): Promise<number> {
  const { readdir, readFile } = await import('node:fs/promises');
  let best = 0;
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
    const m = /^\d+ \(([^)]*)\) \S (\d+)/.exec(stat);
    if (m && m[1] === 'workerd' && Number(m[2]) === process.pid && Number(d) > best) best = Number(d);
  }
  return best;
}
