// Usage records: containers accrue per started hour of running time, physical machines per started month.
import { tables } from '@remotegpu/schema';
import { and, eq, isNull } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { iso, isoReq } from '../lib/time.ts';

const HOUR = 3_600_000;
const MONTH = 30 * 24 * HOUR;

export async function openUsage(
  deps: Deps,
  env: { id: string; user_id: string },
  kind: 'hourly' | 'monthly',
  unitPrice: number,
  at = Date.now(),
): Promise<void> {
  const open = await deps.db
    .select({ id: tables.usageRecords.id })
    .from(tables.usageRecords)
    .where(and(eq(tables.usageRecords.environment_id, env.id), isNull(tables.usageRecords.period_end)));
  if (open.length) return;
  await deps.db
    .insert(tables.usageRecords)
    .values({ environment_id: env.id, user_id: env.user_id, kind, period_start: at, unit_price: unitPrice });
}

export async function closeUsage(deps: Deps, envId: string, at = Date.now()): Promise<void> {
  await deps.db
    .update(tables.usageRecords)
    .set({ period_end: at })
    .where(and(eq(tables.usageRecords.environment_id, envId), isNull(tables.usageRecords.period_end)));
}

export function charge(r: typeof tables.usageRecords.$inferSelect, now = Date.now()) {
  const end = r.period_end ?? now;
  const span = Math.max(0, end - r.period_start);
  const units = Math.max(1, Math.ceil(span / (r.kind === 'hourly' ? HOUR : MONTH)));
  return {
    environment_id: r.environment_id,
    kind: r.kind,
    period_start: isoReq(r.period_start),
    period_end: iso(r.period_end),
    unit_price: r.unit_price,
    units,
    amount: Math.round(units * r.unit_price * 100) / 100,
  };
}
