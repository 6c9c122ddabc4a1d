// The ledger against a real (in-memory) libsql: random postings sum to the stored balance, keys post once.
import { createClient } from '@libsql/client';
import { MIGRATIONS, applyMigrations } from '@remotegpu/schema';
import { beforeAll, describe, expect, it } from 'vitest';
import { LedgerError, balanceOf, post, reconcile } from './ledger.ts';

const sql = createClient({ url: ':memory:' });
beforeAll(async () => {
  await applyMigrations(sql, MIGRATIONS);
});

const base = { currency: 'CNY' } as const;

describe('ledger', () => {
  it('10,000 random credits and charges sum to the stored balance', async () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let expected = 0;
    for (let i = 0; i < 10_000; i++) {
      const credit = rand() < 0.4;
      const magnitude = 1 + Math.floor(rand() * 100_000);
      const amount = credit ? magnitude : -magnitude;
      expected += amount;
      const r = await post(sql, {
        ...base,
        account_id: 'acc-random',
        kind: credit ? 'credit' : 'charge',
        amount,
        idempotency_key: `rand:${i}`,
      });
      expect(r.balance).toBe(expected);
    }
    // Replaying some keys changes nothing.
    for (const i of [0, 17, 9_999]) {
      const again = await post(sql, {
        ...base,
        account_id: 'acc-random',
        kind: 'credit',
        amount: 5,
        idempotency_key: `rand:${i}`,
      });
      expect(again).toMatchObject({ duplicate: true, balance: expected });
    }
    expect(await balanceOf(sql, 'acc-random')).toBe(expected);
    const [check] = await reconcile(sql, 'acc-random');
    expect(check).toEqual({
      account_id: 'acc-random',
      stored: expected,
      derived: expected,
      last_balance_after: expected,
      ok: true,
    });
    const count = await sql.execute("SELECT COUNT(*) FROM ledger_entries WHERE account_id = 'acc-random'");
    expect(Number(count.rows[0]![0])).toBe(10_000);
  }, 120_000);

  it('refuses amounts whose sign contradicts the kind, and reconcile finds a tampered balance', async () => {
    await expect(
      post(sql, { ...base, account_id: 'a2', kind: 'charge', amount: 5, idempotency_key: 'x1' }),
    ).rejects.toThrow(LedgerError);
    await expect(
      post(sql, { ...base, account_id: 'a2', kind: 'credit', amount: 1.5, idempotency_key: 'x2' }),
    ).rejects.toThrow(LedgerError);
    await post(sql, { ...base, account_id: 'a2', kind: 'credit', amount: 500, idempotency_key: 'x3' });
    await sql.execute("UPDATE account_balances SET balance = 9999 WHERE account_id = 'a2'");
    const [check] = await reconcile(sql, 'a2');
    expect(check).toMatchObject({ stored: 9999, derived: 500, ok: false });
  });

  it('posts nothing when the compare-and-set condition fails', async () => {
    const r = await post(
      sql,
      { ...base, account_id: 'a3', kind: 'charge', amount: -10, idempotency_key: 'cas1' },
      { when: { sql: '1 = ?', args: [2] } },
    );
    expect(r).toMatchObject({ applied: false, balance: 0 });
    expect(await reconcile(sql, 'a3')).toEqual([
      { account_id: 'a3', stored: 0, derived: 0, last_balance_after: 0, ok: true },
    ]);
  });
});
