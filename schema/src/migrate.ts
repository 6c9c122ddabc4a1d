// Applies the embedded migrations through any libsql-shaped client, compatible with drizzle's migrator table.
export interface EmbeddedMigration {
  tag: string;
  when: number;
  hash: string;
  statements: string[];
}

export type SqlValue = string | number | null;

/** The slice of `@libsql/client`'s Client this needs (works with the Node and the web client). */
export interface SqlClient {
  execute(stmt: { sql: string; args?: SqlValue[] } | string): Promise<{ rows: ArrayLike<unknown>[] }>;
  batch(stmts: { sql: string; args?: SqlValue[] }[], mode?: 'write' | 'read' | 'deferred'): Promise<unknown>;
}

const TABLE = '__drizzle_migrations';

export async function applyMigrations(client: SqlClient, migrations: EmbeddedMigration[]): Promise<string[]> {
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)`,
  );
  const applied: string[] = [];
  for (const m of migrations) {
    // Re-read each time: another isolate may have applied it meanwhile; the batch is one transaction.
    const last = await client.execute(`SELECT created_at FROM ${TABLE} ORDER BY created_at DESC LIMIT 1`);
    const lastWhen = last.rows.length ? Number(last.rows[0]![0]) : -1;
    if (lastWhen >= m.when) continue;
    try {
      await client.batch(
        [
          ...m.statements.map((sql) => ({ sql })),
          { sql: `INSERT INTO ${TABLE} (hash, created_at) VALUES (?, ?)`, args: [m.hash, m.when] },
        ],
        'write',
      );
      applied.push(m.tag);
    } catch (err) {
      const again = await client.execute(`SELECT 1 FROM ${TABLE} WHERE created_at = ${Number(m.when)}`);
      if (again.rows.length === 0) throw err;
    }
  }
  return applied;
}
