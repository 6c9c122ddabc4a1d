// drizzle-kit: generates the SQL migrations of schema/src/tables.ts into schema/migrations.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'turso',
  schema: './schema/src/tables.ts',
  out: './schema/migrations',
});
