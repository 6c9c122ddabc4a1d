// The ledger: append-only entries and a stored balance moved in the same transaction, each posting exactly once.
import type { Client, InStatement } from '@libsql/client/web';

type LedgerKind = 'credit' | 'charge' | 'refund' | 'adjustment';
type Sql = Pick<Client, 'batch' | 'execute'>;

export interface Posting {
  account_id: string;
  kind: LedgerKind;
  /** Signed minor units: credit and refund > 0, charge < 0, adjustment non-zero either way. */
  amount: number;
  /** Makes the posting happen once: a second posting with the same key changes nothing and returns the first. */
  idempotency_key: string;
  currency: string;
  environment_id?: string | null;
  description?: string;
  actor_id?: string | null;
  at?: number;
}

export interface Posted {
  entry_id: number;
  /** The account's balance after this call (minor units). */
  balance: number;
  /** True when the key had been posted before (nothing changed now). */
  duplicate: boolean;
  /** False when `extra.when` did not hold: nothing was posted. */
  applied: boolean;
}

export class LedgerError extends Error {
  override name = 'LedgerError';
}

function checkSign(kind: LedgerKind, amount: number): void {
  if (!Number.isSafeInteger(amount) || amount === 0) throw new LedgerError('amount must be a non-zero integer');
  if ((kind === 'credit' || kind === 'refund') && amount < 0) throw new LedgerError(`a ${kind} must be positive`);
  if (kind === 'charge' && amount > 0) throw new LedgerError('a charge must be negative');
}

/**
 * Posts one entry in one write transaction: the entry (with `balance_after`) and the stored balance move together.
 * `extra.when` is an SQL condition (with args) the entry depends on, checked inside the transaction (compare-and-set);
 * `extra.also` are statements run in the same transaction (they must themselves test that the entry was written).
 */
export async function post(
  sql: Sql,
  p: Posting,
  extra: { when?: { sql: string; args: (string | number)[] }; also?: InStatement[] } = {},
): Promise<Posted> {
  checkSign(p.kind, p.amount);
  const at = p.at ?? Date.now();
  const key = p.idempotency_key;
  const when = extra.when ? ` AND (${extra.when.sql})` : '';
  const res = await sql.batch(
    [
      { sql: 'SELECT id FROM ledger_entries WHERE idempotency_key = ?', args: [key] },
      {
        sql: 'INSERT INTO account_balances (account_id, balance, last_entry_id, updated_at) VALUES (?, 0, 0, ?) ON CONFLICT DO NOTHING',
        args: [p.account_id, at],
      },
      {
        sql: `INSERT INTO ledger_entries
                (account_id, kind, amount, balance_after, currency, idempotency_key, environment_id, description, actor_id, created_at)
              SELECT b.account_id, ?, ?, b.balance + ?, ?, ?, ?, ?, ?, ? FROM account_balances b
              WHERE b.account_id = ?${when}
              ON CONFLICT(idempotency_key) DO NOTHING`,
        args: [
          p.kind,
          p.amount,
          p.amount,
          p.currency,
          key,
          p.environment_id ?? null,
          (p.description ?? '').slice(0, 500),
          p.actor_id ?? null,
          at,
          p.account_id,
          ...(extra.when?.args ?? []),
        ],
      },
      // Only an entry newer than the last applied one moves the balance: a duplicate key finds an older entry.
      {
        sql: `UPDATE account_balances SET balance = e.balance_after, last_entry_id = e.id, updated_at = ?
              FROM (SELECT id, balance_after FROM ledger_entries WHERE idempotency_key = ? AND account_id = ?) AS e
              WHERE account_balances.account_id = ? AND e.id > account_balances.last_entry_id`,
        args: [at, key, p.account_id, p.account_id],
      },
      ...(extra.also ?? []),
      {
        sql: `SELECT (SELECT id FROM ledger_entries WHERE idempotency_key = ?), balance FROM account_balances WHERE account_id = ?`,
        args: [key, p.account_id],
      },
    ],
    'write',
  );
  const before = res[0]!.rows[0];
  const last = res[res.length - 1]!.rows[0]!;
  const entryId = last[0] == null ? 0 : Number(last[0]);
  return { entry_id: entryId, balance: Number(last[1]), duplicate: before !== undefined, applied: entryId !== 0 };
}

export async function balanceOf(sql: Pick<Client, 'execute'>, accountId: string): Promise<number> {
  const r = await sql.execute({ sql: 'SELECT balance FROM account_balances WHERE account_id = ?', args: [accountId] });
  return r.rows.length ? Number(r.rows[0]![0]) : 0;
}

export interface Reconciliation {
  account_id: string;
  stored: number;
  /** The sum of the account's entries. */
  derived: number;
  /** The last entry's balance_after (0 without entries). */
  last_balance_after: number;
  ok: boolean;
}

/** Checks stored balances against their ledgers: every account's, or one's. */
export async function reconcile(sql: Pick<Client, 'execute'>, accountId?: string): Promise<Reconciliation[]> {
  const r = await sql.execute({
    sql: `SELECT b.account_id, b.balance,
            COALESCE((SELECT SUM(amount) FROM ledger_entries e WHERE e.account_id = b.account_id), 0),
            COALESCE((SELECT balance_after FROM ledger_entries e WHERE e.account_id = b.account_id ORDER BY id DESC LIMIT 1), 0)
          FROM account_balances b ${accountId ? 'WHERE b.account_id = ?' : ''} ORDER BY b.account_id`,
    args: accountId ? [accountId] : [],
  });
  return r.rows.map((row) => {
    const stored = Number(row[1]);
    const derived = Number(row[2]);
    const last = Number(row[3]);
    return {
      account_id: String(row[0]),
      stored,
      derived,
      last_balance_after: last,
      ok: stored === derived && stored === last,
    };
  });
}
