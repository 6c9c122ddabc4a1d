// Hrana "describe": statement metadata read from SQLite's own EXPLAIN output, since libsql hides it.
import type { Db } from './hrana-sql.ts';

export interface DescribeResult {
  params: { name: string | null }[];
  cols: { name: string; decltype: string | null }[];
  is_explain: boolean;
  is_readonly: boolean;
}

type Op = [bigint, string, bigint, bigint, bigint, unknown, ...unknown[]];

export function describe(db: Db, sql: string): DescribeResult {
  const prepared = db.prepare(sql);
  const cols = prepared.reader ? prepared.columns().map((c) => ({ name: c.name, decltype: c.type })) : [];
  const isExplain = /^\s*EXPLAIN\b/i.test(sql);
  if (isExplain) return { params: [], cols, is_explain: true, is_readonly: true };
  // Bytecode: Variable ops carry parameter index (p1) and name (p4); a Transaction op with p2 != 0 writes.
  const ops = db.prepare(`EXPLAIN ${sql}`).raw(true).safeIntegers(true).all() as Op[];
  const params: { name: string | null }[] = [];
  let readonly = true;
  for (const [, opcode, p1, p2, , p4] of ops) {
    if (opcode === 'Variable') params[Number(p1) - 1] = { name: typeof p4 === 'string' && p4 ? p4 : null };
    if ((opcode === 'Transaction' && p2 !== 0n) || opcode === 'OpenWrite') readonly = false;
  }
  for (let i = 0; i < params.length; i++) params[i] ??= { name: null };
  return { params, cols, is_explain: false, is_readonly: readonly };
}
