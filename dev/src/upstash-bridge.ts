// Upstash REST stand-in: serves the HTTP protocol @upstash/redis speaks, backed by a real redis-server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createClient, ErrorReply, MultiErrorReply, RESP_TYPES } from 'redis';
import { readBody, sendJson, serveJson } from './http-json.ts';

export interface UpstashBridgeOptions {
  redisUrl: string;
  token: string;
  host?: string;
  port?: number;
}

export interface UpstashBridge {
  url: string;
  token: string;
  close(): Promise<void>;
}

type Command = string[];
type Entry = { result: unknown } | { error: string };

class BadRequest extends Error {}

/** Upstash accepts strings, numbers and booleans as arguments; redis wants strings. */
function toCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0) throw new BadRequest('ERR command must be a non-empty array');
  return value.map((arg: unknown) => {
    if (typeof arg === 'string') return arg;
    if (typeof arg === 'number' || typeof arg === 'boolean' || typeof arg === 'bigint') return String(arg);
    throw new BadRequest(`ERR unsupported argument type: ${JSON.stringify(arg)}`);
  });
}

/** RESP2 replies with Buffer bulk strings become Upstash JSON: strings encoded per the requested encoding. */
function encodeReply(value: unknown, base64: boolean): unknown {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return base64 ? value.toString('base64') : value.toString('utf8');
  if (typeof value === 'string') return base64 ? Buffer.from(value, 'utf8').toString('base64') : value;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map((v) => encodeReply(v, base64));
  return String(value);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function startUpstashBridge(opts: UpstashBridgeOptions): Promise<UpstashBridge> {
  const { redisUrl, token, host = '127.0.0.1', port = 0 } = opts;
  // RESP2 so hashes come back as flat arrays like Upstash sends; Buffers so binary values survive base64.
  // No offline queue: while redis-server is down, commands fail at once (as Upstash answers errors) instead of hanging.
  const redis = createClient({ url: redisUrl, RESP: 2, disableOfflineQueue: true }).withTypeMapping({
    [RESP_TYPES.BLOB_STRING]: Buffer,
  });
  redis.on('error', () => {
    // Reconnects are handled by node-redis; an unhandled 'error' event would crash the process.
  });
  await redis.connect();

  const run = (cmd: Command): Promise<unknown> => redis.sendCommand(cmd);

  async function multiExec(cmds: Command[], base64: boolean): Promise<Entry[]> {
    const multi = redis.multi();
    for (const cmd of cmds) multi.addCommand(cmd);
    try {
      const replies: unknown[] = await multi.exec();
      return replies.map((r) => ({ result: encodeReply(r, base64) }));
    } catch (err) {
      // Runtime errors inside EXEC fail single entries, the others still ran (redis semantics).
      if (err instanceof MultiErrorReply) {
        return err.replies.map((r: unknown) =>
          r instanceof ErrorReply ? { error: r.message } : { result: encodeReply(r, base64) },
        );
      }
      throw err;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.authorization !== `Bearer ${token}`) return sendJson(res, 401, { error: 'Unauthorized' });
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'ERR only POST is supported' });
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    const path = new URL(req.url ?? '/', 'http://bridge').pathname.replace(/\/+$/, '');
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return sendJson(res, 400, { error: 'ERR failed to parse request body as JSON' });
    }
    try {
      if (path === '') {
        const result = await run(toCommand(body));
        return sendJson(res, 200, { result: encodeReply(result, base64) });
      }
      if (path === '/pipeline' || path === '/multi-exec') {
        if (!Array.isArray(body)) throw new BadRequest('ERR body must be an array of commands');
        const cmds = body.map(toCommand);
        if (path === '/multi-exec') return sendJson(res, 200, await multiExec(cmds, base64));
        // Sent concurrently: node-redis pipelines them on one connection in order, like Upstash.
        const entries = await Promise.all(
          cmds.map((cmd) =>
            run(cmd).then(
              (r): Entry => ({ result: encodeReply(r, base64) }),
              (e: unknown): Entry => ({ error: errorText(e) }),
            ),
          ),
        );
        return sendJson(res, 200, entries);
      }
      return sendJson(res, 404, { error: `ERR unknown endpoint ${path}` });
    } catch (err) {
      return sendJson(res, 400, { error: errorText(err) });
    }
  }

  const { server, port: boundPort } = await serveJson(host, port, handle, (err) => ({ error: errorText(err) }));

  return {
    url: `http://${host}:${boundPort}`,
    token,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await redis.close().catch(() => redis.destroy());
    },
  };
}
