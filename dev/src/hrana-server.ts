// libSQL/Turso stand-in: Hrana v2 over HTTP (POST /v2/pipeline) backed by the libsql package on a local file.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Database from 'libsql';
import {
  executeBatch,
  executeSequence,
  executeStmt,
  ProtocolError,
  resolveSql,
  tainted,
  toHranaError,
  type Db,
  type HranaBatch,
  type HranaError,
  type HranaStmt,
} from './hrana-sql.ts';
import { describe } from './hrana-describe.ts';
import { readBody, sendJson, serveJson } from './http-json.ts';

export interface HranaServerOptions {
  file: string;
  authToken?: string;
  host?: string;
  port?: number;
  /** Idle streams (and any transaction they hold) are dropped after this long. */
  streamIdleMs?: number;
}

export interface HranaServer {
  url: string;
  close(): Promise<void>;
}

interface Stream {
  db: Db;
  sqls: Map<number, string>;
  timer?: NodeJS.Timeout;
}

type StreamRequest =
  | { type: 'close' }
  | { type: 'execute'; stmt: HranaStmt }
  | { type: 'batch'; batch: HranaBatch }
  | { type: 'sequence'; sql?: string; sql_id?: number }
  | { type: 'describe'; sql?: string; sql_id?: number }
  | { type: 'store_sql'; sql_id: number; sql: string }
  | { type: 'close_sql'; sql_id: number }
  | { type: 'get_autocommit' };

type StreamResult = { type: 'ok'; response: Record<string, unknown> } | { type: 'error'; error: HranaError };

const MAX_IDLE_CONNECTIONS = 4;

export async function startHranaServer(opts: HranaServerOptions): Promise<HranaServer> {
  const { file, authToken, host = '127.0.0.1', port = 0, streamIdleMs = 10_000 } = opts;
  const idle: Db[] = [];
  const streams = new Map<string, Stream>();
  const open = new Set<Db>();

  function openDb(): Db {
    const db = new Database(file);
    db.defaultSafeIntegers(true);
    // busy_timeout stays 0: a blocking wait would freeze the event loop, and with it the stream holding the
    // lock. Plain SQLITE_BUSY is retried asynchronously for up to 5 s instead (see retryBusy).
    db.exec('PRAGMA busy_timeout = 0');
    db.exec('PRAGMA foreign_keys = ON');
    open.add(db);
    return db;
  }

  function release(db: Db): void {
    if (db.inTransaction) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // A failed rollback leaves the connection unusable for the pool.
      }
    }
    if (!db.inTransaction && !tainted.has(db) && idle.length < MAX_IDLE_CONNECTIONS) idle.push(db);
    else {
      open.delete(db);
      db.close();
    }
  }

  function dropStream(baton: string): void {
    const stream = streams.get(baton);
    if (!stream) return;
    streams.delete(baton);
    clearTimeout(stream.timer);
    release(stream.db);
  }

  // WAL lets readers proceed while another stream holds a write transaction; it persists in the file.
  const setup = openDb();
  setup.exec('PRAGMA journal_mode = WAL');
  idle.push(setup);

  async function handleRequest(stream: Stream, req: StreamRequest): Promise<Record<string, unknown>> {
    switch (req.type) {
      case 'close':
        return { type: 'close' };
      case 'execute':
        return { type: 'execute', result: await executeStmt(stream.db, req.stmt, stream.sqls) };
      case 'batch':
        return { type: 'batch', result: await executeBatch(stream.db, req.batch, stream.sqls) };
      case 'sequence':
        await executeSequence(stream.db, resolveSql(req, stream.sqls));
        return { type: 'sequence' };
      case 'describe':
        return { type: 'describe', result: describe(stream.db, resolveSql(req, stream.sqls)) };
      case 'store_sql':
        stream.sqls.set(req.sql_id, req.sql);
        return { type: 'store_sql' };
      case 'close_sql':
        stream.sqls.delete(req.sql_id);
        return { type: 'close_sql' };
      case 'get_autocommit':
        return { type: 'get_autocommit', is_autocommit: !stream.db.inTransaction };
      default:
        throw new ProtocolError(`unknown request type ${JSON.stringify((req as { type?: unknown }).type)}`);
    }
  }

  async function pipeline(
    body: { baton?: string | null; requests?: StreamRequest[] },
    res: ServerResponse,
  ): Promise<void> {
    if (!Array.isArray(body.requests)) return sendJson(res, 400, { message: 'requests must be an array' });
    let stream: Stream;
    if (body.baton) {
      const existing = streams.get(body.baton);
      if (!existing) return sendJson(res, 400, { message: 'Stream expired or unknown baton', code: 'STREAM_EXPIRED' });
      // Detach while running: a request reusing this baton concurrently is a client bug and gets rejected.
      streams.delete(body.baton);
      clearTimeout(existing.timer);
      stream = existing;
    } else {
      stream = { db: idle.pop() ?? openDb(), sqls: new Map() };
    }
    const results: StreamResult[] = [];
    let closed = false;
    for (const req of body.requests) {
      if (closed) {
        results.push({ type: 'error', error: { message: 'Stream is closed', code: 'STREAM_CLOSED' } });
        continue;
      }
      try {
        results.push({ type: 'ok', response: await handleRequest(stream, req) });
        if (req.type === 'close') closed = true;
      } catch (err) {
        results.push({ type: 'error', error: toHranaError(err) });
      }
    }
    let baton: string | null = null;
    if (closed) release(stream.db);
    else {
      baton = randomBytes(16).toString('hex');
      streams.set(baton, stream);
      const key = baton;
      stream.timer = setTimeout(() => dropStream(key), streamIdleMs);
      stream.timer.unref();
    }
    sendJson(res, 200, { baton, base_url: null, results });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://hrana').pathname.replace(/\/+$/, '') || '/';
    if (req.method === 'GET' && (path === '/health' || path === '/v2' || path === '/')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end('ok');
    }
    if (authToken !== undefined && req.headers.authorization !== `Bearer ${authToken}`) {
      return sendJson(res, 401, { message: 'Unauthorized', code: 'UNAUTHORIZED' });
    }
    if (req.method !== 'POST' || path !== '/v2/pipeline')
      return sendJson(res, 404, { message: `Not found: ${req.method} ${path}` });
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return sendJson(res, 400, { message: 'Request body is not valid JSON' });
    }
    if (typeof body !== 'object' || body === null)
      return sendJson(res, 400, { message: 'Request body must be an object' });
    await pipeline(body as { baton?: string | null; requests?: StreamRequest[] }, res);
  }

  const { server, port: boundPort } = await serveJson(host, port, handle, toHranaError);

  return {
    url: `http://${host}:${boundPort}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const baton of [...streams.keys()]) dropStream(baton);
      for (const db of open) db.close();
      open.clear();
      idle.length = 0;
    },
  };
}
