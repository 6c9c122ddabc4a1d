// `npm run db:migrate`: applies the schema migrations to LIBSQL_URL (Turso or a local Hrana server).
import { createClient } from '@libsql/client';
import { MIGRATIONS, applyMigrations } from '@remotegpu/schema';

const url = process.env.LIBSQL_URL;
if (!url) {
  console.error('LIBSQL_URL is not set (e.g. libsql://<db>.turso.io with LIBSQL_AUTH_TOKEN)');
  process.exit(2);
}
const client = createClient({ url, authToken: process.env.LIBSQL_AUTH_TOKEN });
const applied = await applyMigrations(client, MIGRATIONS);
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'up to date');
client.close();
