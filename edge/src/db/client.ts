// The database: drizzle over @libsql/client's HTTP client (Turso, or the local Hrana stand-in).
import { createClient, type Client } from '@libsql/client/web';
import { MIGRATIONS, applyMigrations, tables } from '@remotegpu/schema';
import type { LibSQLDatabase } from 'drizzle-orm/libsql';
import { drizzle } from 'drizzle-orm/libsql/web';

export type Db = LibSQLDatabase<typeof tables>;

export interface Database {
  client: Client;
  db: Db;
}

const cache = new Map<string, Database>();

export function openDatabase(url: string, authToken?: string): Database {
  const key = `${url}\n${authToken ?? ''}`;
  let d = cache.get(key);
  if (!d) {
    const client = createClient({ url, authToken });
    d = { client, db: drizzle(client, { schema: tables }) };
    cache.set(key, d);
  }
  return d;
}

const migrated = new Map<string, Promise<string[]>>();

/** Applies pending migrations once per isolate (retried on the next request if it failed). */
export function ensureMigrated(d: Database, key: string): Promise<string[]> {
  let p = migrated.get(key);
  if (!p) {
    p = applyMigrations(d.client as unknown as Parameters<typeof applyMigrations>[0], MIGRATIONS);
    p.catch(() => migrated.delete(key));
    migrated.set(key, p);
  }
  return p;
}
