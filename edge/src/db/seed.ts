// The first admin, from REMOTEGPU_ADMIN_EMAIL / REMOTEGPU_ADMIN_PASSWORD, created once if missing.
import { tables } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { hashPassword } from '../platform/crypto.ts';
import { newId } from '../lib/ids.ts';

const seeded = new Set<string>();

export async function ensureSeeded(deps: Deps): Promise<void> {
  const { adminEmail, adminPassword } = deps.config;
  if (!adminEmail || !adminPassword) return;
  const key = `${deps.env.LIBSQL_URL}\n${adminEmail}`;
  if (seeded.has(key)) return;
  const found = await deps.db
    .select({ id: tables.users.id })
    .from(tables.users)
    .where(eq(tables.users.email, adminEmail));
  if (!found.length) {
    const password_hash = await hashPassword(adminPassword, 'user');
    // The unique email index settles a race between isolates seeding at once.
    await deps.db
      .insert(tables.users)
      .values({ id: newId('usr'), email: adminEmail, password_hash, role: 'admin' })
      .onConflictDoNothing();
  }
  seeded.add(key);
}
