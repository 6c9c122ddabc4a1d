// Monthly rentals of physical machines: a 30-day period paid up front, renewed from the balance when it ends, or
// expired (the machine released) after warnings 3 days and 1 day before; a release may refund the unused part.
import { tables } from '@remotegpu/schema';
import { and, eq, lte } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { isoReq } from '../lib/time.ts';
import { emitEvent } from '../webhooks/emit.ts';
import { balanceOf } from './ledger.ts';
import { accountOfEnv, postEntry } from './service.ts';

const PERIOD_MS = 30 * 86_400_000;
const DAY = 86_400_000;

type EnvRow = typeof tables.environments.$inferSelect;

/** Charges the first period of a freshly allocated machine and opens its rental. */
export async function startRental(deps: Deps, env: EnvRow, periodPrice: number, at = Date.now()): Promise<void> {
  const account = accountOfEnv(env);
  if (periodPrice > 0) {
    await postEntry(deps, {
      account_id: account,
      kind: 'charge',
      amount: -periodPrice,
      idempotency_key: `rent:${env.id}:1`,
      environment_id: env.id,
      description: 'machine rental, period 1 (30 days)',
      at,
    });
  }
  await deps.db
    .insert(tables.rentals)
    .values({
      environment_id: env.id,
      account_id: account,
      period_price: periodPrice,
      period_start: at,
      period_end: at + PERIOD_MS,
    })
    .onConflictDoNothing();
}

/**
 * The renter released the machine: the rental ends; with REMOTEGPU_PRORATE_RELEASE=true the unused whole seconds of
 * the current period are refunded (rounded down).
 */
export async function endRental(deps: Deps, envId: string, at = Date.now()): Promise<number> {
  const [r] = await deps.db
    .update(tables.rentals)
    .set({ status: 'released' })
    .where(and(eq(tables.rentals.environment_id, envId), eq(tables.rentals.status, 'active')))
    .returning();
  if (!r || !deps.config.billing.prorateRelease || at >= r.period_end) return 0;
  const span = r.period_end - r.period_start;
  const unusedS = Math.floor((r.period_end - Math.max(at, r.period_start)) / 1000);
  const refund = Math.floor((r.period_price * unusedS * 1000) / span);
  if (refund <= 0) return 0;
  await postEntry(deps, {
    account_id: r.account_id,
    kind: 'refund',
    amount: refund,
    idempotency_key: `rent-refund:${envId}:${r.periods}`,
    environment_id: envId,
    description: `unused part of rental period ${r.periods} (${unusedS} s)`,
    at,
  });
  return refund;
}

/**
 * Rentals due: a period that ended is renewed when the balance covers the next one, else the rental expires and
 * `release` is asked to end the environment. Warnings (rental.expiring) go out 3 days and 1 day before an end the
 * balance would not cover. Returns what happened, for logs and tests.
 */
export async function sweepRentals(
  deps: Deps,
  now: number,
  release: (env: EnvRow) => Promise<void>,
): Promise<{ renewed: string[]; expired: string[]; warned: string[] }> {
  const out = { renewed: [] as string[], expired: [] as string[], warned: [] as string[] };
  const t = tables.rentals;
  const soon = await deps.db
    .select()
    .from(t)
    .where(and(eq(t.status, 'active'), lte(t.period_end, now + 3 * DAY)));
  for (const r of soon) {
    const balance = await balanceOf(deps.database.client, r.account_id);
    if (r.period_end > now) {
      if (balance >= r.period_price) continue;
      const days = r.period_end - now <= DAY ? 1 : 3;
      if ((days === 1 ? r.warned_1d_at : r.warned_3d_at) != null) continue;
      await deps.db
        .update(t)
        .set(days === 1 ? { warned_1d_at: now, warned_3d_at: r.warned_3d_at ?? now } : { warned_3d_at: now })
        .where(eq(t.environment_id, r.environment_id));
      await emitEvent(
        deps,
        r.account_id,
        'rental.expiring',
        {
          environment_id: r.environment_id,
          expires_at: isoReq(r.period_end),
          days_left: days,
          renewal_price: r.period_price,
          balance,
          currency: deps.config.billing.currency,
        },
        now,
      );
      out.warned.push(r.environment_id);
      continue;
    }
    if (balance >= r.period_price) {
      const next = r.periods + 1;
      if (r.period_price > 0)
        await postEntry(deps, {
          account_id: r.account_id,
          kind: 'charge',
          amount: -r.period_price,
          idempotency_key: `rent:${r.environment_id}:${next}`,
          environment_id: r.environment_id,
          description: `machine rental, period ${next} (30 days)`,
          at: now,
        });
      await deps.db
        .update(t)
        .set({
          periods: next,
          period_start: r.period_end,
          period_end: r.period_end + PERIOD_MS,
          warned_1d_at: null,
          warned_3d_at: null,
        })
        .where(and(eq(t.environment_id, r.environment_id), eq(t.periods, r.periods)));
      out.renewed.push(r.environment_id);
    } else {
      await deps.db.update(t).set({ status: 'expired' }).where(eq(t.environment_id, r.environment_id));
      const [env] = await deps.db
        .select()
        .from(tables.environments)
        .where(eq(tables.environments.id, r.environment_id));
      if (env) await release(env);
      out.expired.push(r.environment_id);
    }
  }
  return out;
}
