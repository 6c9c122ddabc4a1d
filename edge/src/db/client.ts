// The database: drizzle over @libsql/client's HTTP client (Turso, or the local Hrana stand-in).
// Clients are made per request: Workers forbid sharing I/O objects (and their pending promises) across requests.
import { createClient, type Client } from '@libsql/client/web';
import { MIGRATIONS, applyMigrations, tables } from '@remotegpu/schema';
import type { LibSQLDatabase } from 'drizzle-orm/libsql';
import { drizzle } from 'drizzle-orm/libsql/web';
import { guardedDatabaseFetch } from '../lib/unavailable.ts';

export type Db = LibSQLDatabase<typeof tables>;

export interface Database {
  client: Client;
  db: Db;
}

export function openDatabase(url: string, authToken?: string): Database {
  const client = createClient({ url, authToken, fetch: guardedDatabaseFetch() });
  return { client, db: drizzle(client, { schema: tables }) };
}

const migrated = new Set<string>();

/**
 * Applies pending migrations once per isolate. Concurrent first requests may each try: the
 * migrator is idempotent (each migration is one transaction, re-checked when it fails).
 */
export async function ensureMigrated(d: Database, key: string): Promise<void> {
  if (migrated.has(key)) return;
  await applyMigrations(d.client, MIGRATIONS);
  migrated.add(key);
}
