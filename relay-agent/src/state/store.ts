// The agent's local state in one libsql file: key-value (SSH keys), routes, command results and the durable outbox
// (audit events, usage, recordings, and metric samples not yet acknowledged by the edge, bounded per environment).
import Database from 'libsql';
import { mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT, type Route } from '@remotegpu/schema';
import type { KeyValueStore } from '../contracts.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS routes (environment_id TEXT PRIMARY KEY, route TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS command_results (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, result TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  data TEXT NOT NULL, created_at INTEGER NOT NULL);
`;

/** A metric sample's outbox id: its environment and timestamp, so a sample is stored (and sent) once. */
function metricEntryId(environmentId: string, timestamp: string): string {
  return `metrics:${environmentId}:${timestamp}`;
}

export interface OutboxEntry {
  seq: number;
  id: string;
  name: string;
  data: unknown;
}

export interface StoredResult {
  name: string;
  result: unknown;
}

export class StateStore implements KeyValueStore {
  private constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {}

  /** Opens (creating) `<dir>/state.db`; pass ':memory:' as dir for tests. */
  static open(dir: string, now: () => number = Date.now): StateStore {
    let path = ':memory:';
    if (dir !== ':memory:') {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      path = join(dir, 'state.db');
    }
    const db = new Database(path);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    db.exec(SCHEMA);
    // The file holds the relay's private keys.
    if (path !== ':memory:') chmodSync(path, 0o600);
    return new StateStore(db, now);
  }

  close(): void {
    this.db.close();
  }

  // ---- KeyValueStore ----

  async get(key: string): Promise<string | null> {
    return this.getSync(key);
  }

  async set(key: string, value: string): Promise<void> {
    this.setSync(key, value);
  }

  getSync(key: string): string | null {
    const row = this.db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? row.value : null;
  }

  setSync(key: string, value: string): void {
    this.db
      .prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(key, value);
  }

  // ---- routes ----

  loadRoutes(): Route[] {
    const rows = this.db.prepare('SELECT route FROM routes ORDER BY environment_id').all() as { route: string }[];
    return rows.map((r) => JSON.parse(r.route) as Route);
  }

  replaceRoutes(routes: readonly Route[]): void {
    const del = this.db.prepare('DELETE FROM routes');
    const ins = this.db.prepare('INSERT INTO routes (environment_id, route) VALUES (?, ?)');
    this.db.transaction(() => {
      del.run();
      for (const r of routes) ins.run(r.environment_id, JSON.stringify(r));
    })();
  }

  upsertRoute(route: Route): void {
    this.db
      .prepare(
        'INSERT INTO routes (environment_id, route) VALUES (?, ?) ON CONFLICT(environment_id) DO UPDATE SET route = excluded.route',
      )
      .run(route.environment_id, JSON.stringify(route));
  }

  removeRoute(environmentId: string): void {
    this.db.prepare('DELETE FROM routes WHERE environment_id = ?').run(environmentId);
  }

  // ---- command results (idempotency) ----

  getResult(id: string): StoredResult | null {
    const row = this.db.prepare('SELECT name, result FROM command_results WHERE id = ?').get(id) as
      | { name: string; result: string }
      | undefined;
    return row ? { name: row.name, result: JSON.parse(row.result) as unknown } : null;
  }

  putResult(id: string, name: string, result: unknown): void {
    this.db
      .prepare('INSERT OR REPLACE INTO command_results (id, name, result, created_at) VALUES (?, ?, ?, ?)')
      .run(id, name, JSON.stringify(result), this.now());
  }

  /** Drops results older than `maxAgeMs` (the edge never retries that late). */
  pruneResults(maxAgeMs: number): number {
    return this.db.prepare('DELETE FROM command_results WHERE created_at < ?').run(this.now() - maxAgeMs).changes;
  }

  // ---- outbox ----

  /** Appends an event; a second append with the same id is ignored. */
  outboxAppend(id: string, name: string, data: unknown): void {
    this.db
      .prepare('INSERT OR IGNORE INTO outbox (id, name, data, created_at) VALUES (?, ?, ?, ?)')
      .run(id, name, JSON.stringify(data), this.now());
  }

  /** Unacknowledged entries in the order they were appended, after `afterSeq`. */
  outboxList(limit: number, afterSeq = 0): OutboxEntry[] {
    const rows = this.db
      .prepare('SELECT seq, id, name, data FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(afterSeq, limit) as { seq: number; id: string; name: string; data: string }[];
    return rows.map((r) => ({ seq: Number(r.seq), id: r.id, name: r.name, data: JSON.parse(r.data) as unknown }));
  }

  outboxDelete(ids: readonly string[]): number {
    if (ids.length === 0) return 0;
    const del = this.db.prepare('DELETE FROM outbox WHERE id = ?');
    let n = 0;
    this.db.transaction(() => {
      for (const id of ids) n += del.run(id).changes;
    })();
    return n;
  }

  /**
   * Appends metric samples (one entry each, id `metrics:<environment id>:<sample timestamp>`), then keeps only the
   * newest `keepPerEnv` unacknowledged samples of each environment touched, dropping the oldest. One transaction.
   * Returns how many old samples were dropped, per environment (only environments that lost some).
   */
  outboxAppendMetrics(
    entries: readonly { environmentId: string; timestamp: string; data: unknown }[],
    keepPerEnv: number,
  ): Map<string, number> {
    const ins = this.db.prepare('INSERT OR IGNORE INTO outbox (id, name, data, created_at) VALUES (?, ?, ?, ?)');
    // The range [`metrics:<env>:`, `metrics:<env>;`) is the environment's samples (';' follows ':'): the unique
    // index on id serves it.
    const prune = this.db.prepare(
      'DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE id >= ? AND id < ? ORDER BY seq DESC LIMIT -1 OFFSET ?)',
    );
    const dropped = new Map<string, number>();
    const now = this.now();
    this.db.transaction(() => {
      for (const e of entries)
        ins.run(metricEntryId(e.environmentId, e.timestamp), EVENT.metrics, JSON.stringify(e.data), now);
      for (const env of new Set(entries.map((e) => e.environmentId))) {
        const n = prune.run(`metrics:${env}:`, `metrics:${env};`, Math.max(0, keepPerEnv)).changes;
        if (n > 0) dropped.set(env, n);
      }
    })();
    return dropped;
  }

  outboxCount(): number {
    const row = this.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number };
    return Number(row.n);
  }
}
