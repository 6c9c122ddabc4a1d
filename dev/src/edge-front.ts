// The local stand-in for Cloudflare's front proxy: clients talk HTTP/1.1 to it, it talks to workerd. It answers
// `Expect: 100-continue` itself (as Cloudflare's edge does; workerd never sends a 100, so curl would wait for it).
import {
  Agent,
  createServer,
  request,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** Connection-level fields each hop sets for itself; `expect` is answered here. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'expect']);

/** The fields that go on to the next hop: not the hop-by-hop ones, nor those the Connection header names (RFC 9110 §7.6.1). */
function forwardable(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .toLowerCase()
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP.has(k) && !named.has(k)) out[k] = v;
  return out;
}

export interface EdgeFront {
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port and passes every request and WebSocket upgrade to `target` (workerd's socket) as it streams. */
export async function startEdgeFront(o: { host: string; port: number; target: URL }): Promise<EdgeFront> {
  const targetHost = o.target.hostname;
  const targetPort = Number(o.target.port);
  // A new loopback connection per request: a pooled one can be closed by workerd's idle timer just as it is reused
  // (the very race the relay avoids towards apps), and loopback connections cost next to nothing.
  const agent = new Agent({ keepAlive: false });
  const sockets = new Set<Socket>();
  // No request deadline: a long upload is the client's business (Node's default would cut it at 300 s).
  const server: Server = createServer({ requestTimeout: 0 }, (req, res) => {
    // Node answers `100 Continue` before this handler runs when the client asked for it and nobody listens for checkContinue.
    const up = request({
      host: targetHost,
      port: targetPort,
      method: req.method,
      path: req.url,
      headers: forwardable(req.headers),
      agent,
      setHost: false,
    });
    up.on('response', (r) => {
      res.writeHead(r.statusCode ?? 502, r.statusMessage, forwardable(r.headers));
      r.pipe(res);
      r.on('aborted', () => res.destroy());
    });
    up.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res
        .writeHead(502, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'bad_gateway', message: `local edge unreachable: ${err.message}` } }));
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    // The head goes at once, whenever the body starts (a slow client, curl after its 100 Continue).
    up.flushHeaders();
    req.pipe(up);
  });
  server.on('connection', (s: Socket) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // WebSockets: the handshake goes on as written, then bytes flow both ways untouched.
  server.on('upgrade', (req, client: Socket, head: Buffer) => {
    const up = connect(targetPort, targetHost, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.setNoDelay(true);
    client.setNoDelay(true);
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
    up.on('close', () => client.destroy());
    client.on('close', () => up.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
