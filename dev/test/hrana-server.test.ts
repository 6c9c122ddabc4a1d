// Drives the real @libsql/client and drizzle-orm against the Hrana v2 stand-in.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, LibsqlError } from '@libsql/client';
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { blob, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
// Type-only: brings in the ProvidedContext declaration for inject().
import type {} from '../../test/global-setup.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startHranaServer } from '../src/hrana-server.ts';

const suffix = Date.now().toString(36);
const items = sqliteTable(`items_${suffix}`, {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  status: text('status').notNull().default('available'),
  price: real('price'),
  data: blob('data', { mode: 'buffer' }),
  note: text('note'),
});
const counters = sqliteTable(`counters_${suffix}`, {
  id: text('id').primaryKey(),
  value: integer('value').notNull(),
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const client = createClient({ url: inject('libsqlUrl'), authToken: inject('libsqlToken') });
const db = drizzle(client);

beforeAll(async () => {
  await client.executeMultiple(`
    CREATE TABLE items_${suffix} (
      id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
      status TEXT NOT NULL DEFAULT 'available', price REAL, data BLOB, note TEXT);
    -- a comment; with a semicolon
    CREATE TABLE counters_${suffix} (id TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counters_${suffix} VALUES ('c', 0);
  `);
});
afterAll(() => client.close());

describe('Hrana stand-in with @libsql/client', () => {
  it('executes with typed values and reports rowsAffected / lastInsertRowid', async () => {
    const r = await client.execute({
      sql: `INSERT INTO items_${suffix} (name, price, data, note) VALUES (?, ?, ?, ?)`,
      args: ['a', 1.5, new Uint8Array([0, 1, 255]), null],
    });
    expect(r.rowsAffected).toBe(1);
    expect(typeof r.lastInsertRowid).toBe('bigint');
    const sel = await client.execute({
      sql: `SELECT id, name, price, data, note FROM items_${suffix} WHERE name = :n`,
      args: { n: 'a' },
    });
    expect(sel.columns).toEqual(['id', 'name', 'price', 'data', 'note']);
    expect(sel.columnTypes).toEqual(['INTEGER', 'TEXT', 'REAL', 'BLOB', 'TEXT']);
    const row = sel.rows[0];
    expect(row?.id).toBe(Number(r.lastInsertRowid));
    expect(row?.price).toBe(1.5);
    expect([...new Uint8Array(row?.data as ArrayBuffer)]).toEqual([0, 1, 255]);
    expect(row?.note).toBeNull();
    const f = await client.execute('SELECT 8.0 AS f, 2.5 AS g');
    expect(f.rows[0]).toMatchObject({ f: 8, g: 2.5 });
    // 2^53 + 1 only survives as an exact integer end to end; the default intMode refuses it, as with Turso.
    await expect(client.execute({ sql: 'SELECT ? AS big', args: [9007199254740993n] })).rejects.toThrow(RangeError);
    const ints = createClient({ url: inject('libsqlUrl'), authToken: inject('libsqlToken'), intMode: 'bigint' });
    expect((await ints.execute({ sql: 'SELECT ? AS big', args: [9007199254740993n] })).rows[0]?.big).toBe(
      9007199254740993n,
    );
    ints.close();
  });

  it('counts rows changed by INSERT ... RETURNING', async () => {
    const r = await client.execute(`INSERT INTO items_${suffix} (name) VALUES ('ret1'), ('ret2') RETURNING name`);
    expect(r.rows.map((x) => x.name)).toEqual(['ret1', 'ret2']);
    expect(r.rowsAffected).toBe(2);
    const s = await client.execute(`SELECT count(*) AS n FROM items_${suffix}`);
    expect(s.rowsAffected).toBe(0);
  });

  it('rejects a bad token', async () => {
    const bad = createClient({ url: inject('libsqlUrl'), authToken: 'nope' });
    await expect(bad.execute('SELECT 1')).rejects.toThrow(/Unauthorized/);
    bad.close();
  });

  it('surfaces a unique-constraint violation with code and message', async () => {
    const err = await db
      .insert(items)
      .values({ name: 'a' })
      .catch((e: unknown) => e);
    const cause = (err as { cause?: unknown }).cause ?? err;
    expect(cause).toBeInstanceOf(LibsqlError);
    expect((cause as LibsqlError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect((cause as LibsqlError).message).toMatch(/UNIQUE constraint failed/);
  });
});

describe('drizzle-orm over the stand-in', () => {
  it('inserts and selects, with blobs, floats and nulls', async () => {
    const [row] = await db
      .insert(items)
      .values({ name: 'd1', price: 0.1 + 0.2, data: Buffer.from('héllo'), note: null })
      .returning();
    expect(row).toMatchObject({ name: 'd1', status: 'available', price: 0.1 + 0.2, note: null });
    const [back] = await db.select().from(items).where(eq(items.name, 'd1'));
    expect(back?.data?.toString()).toBe('héllo');
    expect(back?.price).toBe(0.30000000000000004);
  });

  it('db.batch runs atomically', async () => {
    const [ins, upd, sel] = await db.batch([
      db.insert(items).values({ name: 'b1' }),
      db.update(items).set({ note: 'batched' }).where(eq(items.name, 'b1')),
      db.select().from(items).where(eq(items.name, 'b1')),
    ]);
    expect(ins.rowsAffected).toBe(1);
    expect(upd.rowsAffected).toBe(1);
    expect(sel[0]?.note).toBe('batched');
    await expect(
      db.batch([db.insert(items).values({ name: 'b2' }), db.insert(items).values({ name: 'b1' })]),
    ).rejects.toThrow();
    expect(await db.select().from(items).where(eq(items.name, 'b2'))).toEqual([]);
  });

  it('db.transaction commits, and rolls back when the callback throws', async () => {
    await db.transaction(async (tx) => {
      await tx.insert(items).values({ name: 't1' });
      await tx.update(items).set({ note: 'in-tx' }).where(eq(items.name, 't1'));
    });
    expect((await db.select().from(items).where(eq(items.name, 't1')))[0]?.note).toBe('in-tx');
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(items).values({ name: 't2' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await db.select().from(items).where(eq(items.name, 't2'))).toEqual([]);
  });

  it('100 concurrent single-row claims: exactly one wins', async () => {
    await db.insert(items).values({ name: 'claim-me' });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        client.execute({
          sql: `UPDATE items_${suffix} SET status = 'claimed', note = ? WHERE name = 'claim-me' AND status = 'available'`,
          args: [`claimer-${i}`],
        }),
      ),
    );
    expect(results.filter((r) => r.rowsAffected === 1)).toHaveLength(1);
    expect(results.filter((r) => r.rowsAffected === 0)).toHaveLength(99);
  });

  it('two concurrent transactions incrementing a counter both land', async () => {
    const bump = (): Promise<void> =>
      db.transaction(async (tx) => {
        const [c] = await tx.select().from(counters).where(eq(counters.id, 'c'));
        await new Promise((r) => setTimeout(r, 50));
        await tx
          .update(counters)
          .set({ value: (c?.value ?? 0) + 1 })
          .where(eq(counters.id, 'c'));
      });
    await Promise.all([bump(), bump()]);
    const [c] = await db.select().from(counters).where(eq(counters.id, 'c'));
    expect(c?.value).toBe(2);
  });

  it("drizzle's migrator applies a hand-written migration once", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hrana-migrations-'));
    try {
      await mkdir(join(dir, 'meta'));
      const journal = {
        version: '7',
        dialect: 'sqlite',
        entries: [{ idx: 0, version: '6', when: 1700000000000, tag: '0000_x', breakpoints: true }],
      };
      await writeFile(join(dir, 'meta', '_journal.json'), JSON.stringify(journal));
      await writeFile(
        join(dir, '0000_x.sql'),
        `CREATE TABLE mig_${suffix} (id integer PRIMARY KEY NOT NULL, v text);\n--> statement-breakpoint\nINSERT INTO mig_${suffix} (v) VALUES ('seed');`,
      );
      const migrationsTable = `__migrations_${suffix}`;
      await migrate(db, { migrationsFolder: dir, migrationsTable });
      await migrate(db, { migrationsFolder: dir, migrationsTable });
      const rows = await db.all<{ v: string }>(sql.raw(`SELECT v FROM mig_${suffix}`));
      expect(rows).toEqual([{ v: 'seed' }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('stream isolation and expiry', () => {
  it('an open write transaction neither blocks nor leaks to reads; other writers wait for it', async () => {
    const tx = await client.transaction('write');
    await tx.execute(`INSERT INTO items_${suffix} (name) VALUES ('iso')`);
    const outside = await client.execute(`SELECT count(*) AS n FROM items_${suffix} WHERE name = 'iso'`);
    expect(outside.rows[0]?.n).toBe(0);
    let written = false;
    const write = client.execute(`INSERT INTO items_${suffix} (name) VALUES ('waiter')`).then(() => (written = true));
    await sleep(100);
    expect(written).toBe(false);
    await tx.commit();
    await write;
    const both = await client.execute(`SELECT count(*) AS n FROM items_${suffix} WHERE name IN ('iso', 'waiter')`);
    expect(both.rows[0]?.n).toBe(2);
  });

  it('an abandoned transaction is rolled back when its stream expires', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hrana-expiry-'));
    const server = await startHranaServer({ file: join(dir, 'x.db'), streamIdleMs: 200 });
    const c = createClient({ url: server.url });
    try {
      await c.execute('CREATE TABLE t (v TEXT)');
      const tx = await c.transaction('write');
      await tx.execute("INSERT INTO t VALUES ('lost')");
      await sleep(400);
      await expect(tx.execute('SELECT 1')).rejects.toThrow(/expired/i);
      await c.execute("INSERT INTO t VALUES ('kept')");
      expect((await c.execute('SELECT v FROM t')).rows.map((r) => r.v)).toEqual(['kept']);
    } finally {
      c.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
