// The schema's migrations through the Hrana stand-in: drizzle's own migrator and the edge's embedded one agree.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { MIGRATIONS, applyMigrations, tables } from '@remotegpu/schema';
import { drizzle } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../dev/src/edge-server.ts';
import { startHranaServer } from '../../dev/src/hrana-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function server(name: string) {
  return startHranaServer({ file: join(dir, `${name}.db`), authToken: 'tok' });
}

const tableNames = async (c: ReturnType<typeof createClient>) =>
  (
    await c.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
  ).rows.map((r) => String(r[0]));

describe('schema migrations over Hrana', () => {
  it("drizzle's migrator applies schema/migrations, and the embedded copy then has nothing left to do", async () => {
    const s = await server('drizzle');
    const client = createClient({ url: s.url, authToken: 'tok' });
    await migrate(drizzle(client), { migrationsFolder: join(REPO_ROOT, 'schema/migrations') });
    expect(await tableNames(client)).toEqual(
      expect.arrayContaining([
        'users',
        'environments',
        'machines',
        'port_allocations',
        'audit_events',
        '__drizzle_migrations',
      ]),
    );
    expect(await applyMigrations(client, MIGRATIONS)).toEqual([]);
    client.close();
    await s.close();
  });

  it('the embedded migrator applies every migration once, also when two run at once, and drizzle agrees', async () => {
    const s = await server('embedded');
    const a = createClient({ url: s.url, authToken: 'tok' });
    const b = createClient({ url: s.url, authToken: 'tok' });
    const [ra, rb] = await Promise.all([applyMigrations(a, MIGRATIONS), applyMigrations(b, MIGRATIONS)]);
    expect([...ra, ...rb].sort()).toEqual(MIGRATIONS.map((m) => m.tag).sort());
    const rows = await a.execute('SELECT hash FROM __drizzle_migrations ORDER BY id');
    expect(rows.rows.map((r) => String(r[0]))).toEqual(MIGRATIONS.map((m) => m.hash));
    await migrate(drizzle(a), { migrationsFolder: join(REPO_ROOT, 'schema/migrations') });
    expect((await a.execute('SELECT count(*) FROM __drizzle_migrations')).rows[0]![0]).toBe(MIGRATIONS.length);
    // The tables work through drizzle: the port allocator's key refuses a second claim of a port.
    const db = drizzle(a, { schema: tables });
    await db.insert(tables.hosts).values({ id: 'h1', name: 'h1', token_hash: 'x', public_ssh_host: '127.0.0.1' });
    await db.insert(tables.portAllocations).values({ host_id: 'h1', port: 50000, environment_id: 'e1' });
    await expect(
      db.insert(tables.portAllocations).values({ host_id: 'h1', port: 50000, environment_id: 'e2' }),
    ).rejects.toThrow();
    a.close();
    b.close();
    await s.close();
  });
});
