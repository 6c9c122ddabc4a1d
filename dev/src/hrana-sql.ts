// Hrana v2 statement semantics on a libsql connection: value encoding, execute, batch conditions, sequence.
import type Database from 'libsql';

export type Db = Database.Database;

export type HranaValue =
  | { type: 'null' }
  | { type: 'integer'; value: string }
  | { type: 'float'; value: number }
  | { type: 'text'; value: string }
  | { type: 'blob'; base64: string };

export interface HranaStmt {
  sql?: string;
  sql_id?: number;
  args?: HranaValue[];
  named_args?: { name: string; value: HranaValue }[];
  want_rows?: boolean;
}

export interface StmtResult {
  cols: { name: string | null; decltype: string | null }[];
  rows: HranaValue[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
}

export type BatchCond =
  | { type: 'ok'; step: number }
  | { type: 'error'; step: number }
  | { type: 'not'; cond: BatchCond }
  | { type: 'and'; conds: BatchCond[] }
  | { type: 'or'; conds: BatchCond[] }
  | { type: 'is_autocommit' };

export interface HranaBatch {
  steps: { condition?: BatchCond | null; stmt: HranaStmt }[];
}

export interface HranaError {
  message: string;
  code?: string;
}

export interface BatchResult {
  step_results: (StmtResult | null)[];
  step_errors: (HranaError | null)[];
}

/** An error the client caused (bad request), as opposed to one SQLite raised. */
export class ProtocolError extends Error {}

export function toHranaError(err: unknown): HranaError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? { message: err.message, code } : { message: err.message };
  }
  return { message: String(err) };
}

function decodeValue(v: HranaValue): unknown {
  switch (v.type) {
    case 'null':
      return null;
    // BigInt keeps 64-bit integers exact and makes SQLite store INTEGER, not REAL (a JS number binds as REAL).
    case 'integer':
      return BigInt(v.value);
    case 'float':
      return Number(v.value);
    case 'text':
      return v.value;
    case 'blob':
      return Buffer.from(v.base64, 'base64');
    default:
      throw new ProtocolError(`unknown value type ${JSON.stringify(v)}`);
  }
}

/** Connections run with safe integers on, so INTEGER arrives as bigint and REAL as number. */
function encodeValue(v: unknown): HranaValue {
  if (v === null || v === undefined) return { type: 'null' };
  if (typeof v === 'bigint') return { type: 'integer', value: v.toString() };
  if (typeof v === 'number') return { type: 'float', value: v };
  if (typeof v === 'string') return { type: 'text', value: v };
  if (v instanceof Uint8Array) return { type: 'blob', base64: Buffer.from(v).toString('base64') };
  return { type: 'text', value: String(v) };
}

type Params = unknown[] | Record<string, unknown>;

function bindParams(stmt: HranaStmt): Params {
  const positional = (stmt.args ?? []).map(decodeValue);
  if (!stmt.named_args?.length) return positional;
  // libsql binds named parameters from an object keyed without the :/@/$ prefix.
  const named: Record<string, unknown> = {};
  positional.forEach((v, i) => {
    named[String(i + 1)] = v;
  });
  for (const { name, value } of stmt.named_args) named[name.replace(/^[:@$]/, '')] = decodeValue(value);
  return named;
}

function counters(db: Db): { total: bigint; changes: bigint; rowid: bigint } {
  // all(), not get(): libsql's get() leaves the statement un-reset, which makes a later COMMIT fail with BUSY.
  const rows = db.prepare('SELECT total_changes(), changes(), last_insert_rowid()').raw(true).safeIntegers(true).all();
  const [total, changes, rowid] = rows[0] as [bigint, bigint, bigint];
  return { total, changes, rowid };
}

export function resolveSql(stmt: { sql?: string; sql_id?: number }, sqls: Map<number, string>): string {
  if (typeof stmt.sql === 'string') return stmt.sql;
  if (typeof stmt.sql_id === 'number') {
    const sql = sqls.get(stmt.sql_id);
    if (sql === undefined) throw new ProtocolError(`SQL text ${stmt.sql_id} was not stored`);
    return sql;
  }
  throw new ProtocolError('statement has neither sql nor sql_id');
}

type Prepared = ReturnType<Db['prepare']>;

/** Runs a prepared statement to completion (never leaves it half-stepped, which would block COMMIT). */
function runPrepared(db: Db, prepared: Prepared, params: Params, wantRows: boolean): StmtResult {
  if (!prepared.reader) {
    const info = prepared.run(params);
    return { cols: [], rows: [], affected_row_count: info.changes, last_insert_rowid: String(info.lastInsertRowid) };
  }
  // Readers include INSERT ... RETURNING: run() would stop after one row, so iterate all and diff the counters.
  const before = counters(db).total;
  const rows = prepared.raw(true).safeIntegers(true).all(params) as unknown[][];
  const after = counters(db);
  const cols = prepared.columns().map((c) => ({ name: c.name, decltype: c.type }));
  return {
    cols,
    rows: wantRows ? rows.map((r) => r.map(encodeValue)) : [],
    affected_row_count: after.total === before ? 0 : Number(after.changes),
    last_insert_rowid: after.rowid.toString(),
  };
}

/**
 * Connections that may hold a statement libsql failed to reset. libsql leaves a statement that failed with
 * SQLITE_BUSY "in progress", and then every COMMIT on that connection fails; such connections are not reused.
 */
export const tainted = new WeakSet<Db>();

function hasStuckStatement(db: Db): boolean {
  try {
    const rows = db.prepare('SELECT count(*) FROM sqlite_stmt WHERE busy').raw(true).safeIntegers(false).all();
    // The probe itself counts as busy while it runs.
    return Number((rows[0] as unknown[])[0]) > 1;
  } catch {
    return true;
  }
}

/** SQLite's busy handler would sleep on the event loop; instead plain SQLITE_BUSY is retried asynchronously. */
async function retryBusy<T>(fn: () => T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 25)) {
    try {
      return fn();
    } catch (err) {
      // rawCode 5 is plain SQLITE_BUSY; extended codes (e.g. BUSY_SNAPSHOT) never succeed on retry.
      const raw = (err as { rawCode?: unknown }).rawCode;
      if (raw !== 5 || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export async function executeStmt(db: Db, stmt: HranaStmt, sqls: Map<number, string>): Promise<StmtResult> {
  const sql = resolveSql(stmt, sqls);
  const params = bindParams(stmt);
  let prepared: Prepared | undefined;
  try {
    // Retrying on the same statement object matters: a successful re-run resets what the BUSY failure left.
    return await retryBusy(() => {
      prepared ??= db.prepare(sql);
      return runPrepared(db, prepared, params, stmt.want_rows !== false);
    });
  } catch (err) {
    if (prepared && hasStuckStatement(db)) tainted.add(db);
    throw err;
  }
}

function evalCond(db: Db, cond: BatchCond, res: BatchResult): boolean {
  switch (cond.type) {
    case 'ok':
      return res.step_results[cond.step] != null;
    case 'error':
      return res.step_errors[cond.step] != null;
    case 'not':
      return !evalCond(db, cond.cond, res);
    case 'and':
      return cond.conds.every((c) => evalCond(db, c, res));
    case 'or':
      return cond.conds.some((c) => evalCond(db, c, res));
    case 'is_autocommit':
      return !db.inTransaction;
    default:
      throw new ProtocolError(`unknown batch condition ${JSON.stringify(cond)}`);
  }
}

export async function executeBatch(db: Db, batch: HranaBatch, sqls: Map<number, string>): Promise<BatchResult> {
  const res: BatchResult = { step_results: [], step_errors: [] };
  for (const step of batch.steps) {
    let result: StmtResult | null = null;
    let error: HranaError | null = null;
    if (!step.condition || evalCond(db, step.condition, res)) {
      try {
        result = await executeStmt(db, step.stmt, sqls);
      } catch (err) {
        if (err instanceof ProtocolError) throw err;
        error = toHranaError(err);
      }
    }
    res.step_results.push(result);
    res.step_errors.push(error);
  }
  return res;
}

/**
 * Splits a script into statements so each can be retried on SQLITE_BUSY without re-running earlier ones.
 * Understands quotes, comments and CREATE TRIGGER ... BEGIN ... END bodies (with CASE ... END inside).
 */
export function splitSql(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let depth = 0;
  let i = 0;
  const push = (end: number): void => {
    const text = sql.slice(start, end).trim();
    if (text.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').trim()) out.push(text);
  };
  while (i < sql.length) {
    const ch = sql[i] as string;
    const close = ch === "'" ? "'" : ch === '"' ? '"' : ch === '`' ? '`' : ch === '[' ? ']' : null;
    if (close) {
      const end = sql.indexOf(close, i + 1);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (/[A-Za-z_]/.test(ch)) {
      const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i, i + 64))?.[0] ?? ch;
      const upper = word.toUpperCase();
      const keyword = upper === 'BEGIN' || upper === 'CASE' || upper === 'END';
      // Only trigger bodies nest; a bare BEGIN; statement must still end at its semicolon.
      if (
        keyword &&
        /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i.test(sql.slice(start, i))
      ) {
        if (upper === 'BEGIN' || (upper === 'CASE' && depth > 0)) depth++;
        else if (upper === 'END' && depth > 0) depth--;
      }
      i += word.length;
    } else if (ch === ';' && depth === 0) {
      push(i);
      start = ++i;
    } else {
      i++;
    }
  }
  push(sql.length);
  return out;
}

export async function executeSequence(db: Db, sql: string): Promise<void> {
  for (const stmt of splitSql(sql)) await executeStmt(db, { sql: stmt, want_rows: false }, new Map());
}
