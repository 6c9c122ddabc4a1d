// The first admin, from REMOTEGPU_ADMIN_EMAIL / REMOTEGPU_ADMIN_PASSWORD, created once if missing.
import { tables } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { hashPassword } from '../platform/crypto.ts';
import { newId } from '../lib/ids.ts';

const seeded = new Map<string, Promise<void>>();

export function ensureSeeded(deps: Deps): Promise<void> {
  const { adminEmail, adminPassword } = deps.config;
  if (!adminEmail || !adminPassword) return Promise.resolve();
  const key = `${deps.env.LIBSQL_URL}\n${adminEmail}`;
  let p = seeded.get(key);
  if (!p) {
    p = (async () => {
      const found = await deps.db.select({ id: tables.users.id }).from(tables.users).where(eq(tables.users.email, adminEmail));
      if (found.length) return;
      const password_hash = await hashPassword(adminPassword, 'user');
      await deps.db.insert(tables.users).values({ id: newId('usr'), email: adminEmail, password_hash, role: 'admin' })
        .onConflictDoNothing();
    })();
    p.catch(() => seeded.delete(key));
    seeded.set(key, p);
  }
  return p;
}
