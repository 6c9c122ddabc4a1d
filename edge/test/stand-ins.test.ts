// Proves the real @upstash/redis and @libsql/client (+ drizzle) work from inside workerd against the local stand-ins.
import { createClient } from '@libsql/client/web';
import { Redis } from '@upstash/redis/cloudflare';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql/web';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { beforeAll, describe, expect, it } from 'vitest';

// Declared here rather than in edge's env types: only these bindings matter to this test.
const bindings = env as unknown as {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  LIBSQL_URL: string;
  LIBSQL_AUTH_TOKEN: string;
};

const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const notes = sqliteTable(`edge_notes_${suffix}`, {
  id: integer('id').primaryKey({ autoIncrement: true }),
  body: text('body').notNull(),
  hits: integer('hits').notNull().default(0),
});

function redis(): Redis {
  return new Redis({
    url: bindings.UPSTASH_REDIS_REST_URL,
    token: bindings.UPSTASH_REDIS_REST_TOKEN,
    enableTelemetry: false,
  });
}

function database() {
  const client = createClient({ url: bindings.LIBSQL_URL, authToken: bindings.LIBSQL_AUTH_TOKEN });
  return { client, db: drizzle(client) };
}

describe('Upstash bridge from workerd', () => {
  it('set/get, pipeline and multi', async () => {
    const r = redis();
    const key = `edge:${suffix}`;
    expect(await r.set(key, { gpu: 'A100', n: 2 }, { ex: 30 })).toBe('OK');
    expect(await r.get(key)).toEqual({ gpu: 'A100', n: 2 });
    const [a, b] = await Promise.all([r.incr(`${key}:c`), r.incr(`${key}:c`)]);
    expect([a, b].sort()).toEqual([1, 2]);
    expect(
      await r.pipeline().set(`${key}:p`, 'x').get(`${key}:p`).hset(`${key}:h`, { f: 'v' }).hgetall(`${key}:h`).exec(),
    ).toEqual(['OK', 'x', 1, { f: 'v' }]);
    expect(await r.multi().incr(`${key}:m`).incr(`${key}:m`).get(`${key}:m`).exec()).toEqual([1, 2, 2]);
  });
});

describe('Hrana stand-in from workerd', () => {
  beforeAll(async () => {
    const { client } = database();
    await client.execute(
      `CREATE TABLE IF NOT EXISTS edge_notes_${suffix} (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, hits INTEGER NOT NULL DEFAULT 0)`,
    );
    client.close();
  });

  it('drizzle insert/select/batch/transaction', async () => {
    const { client, db } = database();
    const [row] = await db.insert(notes).values({ body: 'hello' }).returning();
    expect(row).toMatchObject({ body: 'hello', hits: 0 });
    const [, , sel] = await db.batch([
      db.insert(notes).values({ body: 'batched' }),
      db.update(notes).set({ hits: 5 }).where(eq(notes.body, 'batched')),
      db.select().from(notes).where(eq(notes.body, 'batched')),
    ]);
    expect(sel[0]?.hits).toBe(5);
    await db.transaction(async (tx) => {
      const [n] = await tx
        .select()
        .from(notes)
        .where(eq(notes.id, row?.id ?? -1));
      await tx
        .update(notes)
        .set({ hits: (n?.hits ?? 0) + 1 })
        .where(eq(notes.id, row?.id ?? -1));
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(notes).values({ body: 'rolled-back' });
        throw new Error('nope');
      }),
    ).rejects.toThrow('nope');
    const all = await db.select().from(notes).orderBy(notes.id);
    expect(all.map((n) => [n.body, n.hits])).toEqual([
      ['hello', 1],
      ['batched', 5],
    ]);
    client.close();
  });
});
