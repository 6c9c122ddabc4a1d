// Turns a relay's cumulative running seconds (EVENT.usage) into charges: each second is charged once, whatever the
// order, repetition or lateness of reports (a relay that was offline reports afterwards).
import { tables, type UsageReport } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { costOf, hourlyPrice } from './prices.ts';
import { accountOfEnv, postEntry } from './service.ts';

type MeterRow = typeof tables.envMeters.$inferSelect;

export interface MeterOutcome {
  /** Minor units charged by this report (0 for a repeat, an old report, or a price of 0). */
  charged: number;
  /** The environment's metered seconds after this report. */
  seconds: number;
  /** Why nothing was metered, when so. */
  ignored?: 'unknown_environment' | 'other_host' | 'not_newer';
}

/** The meter row of an environment, made on its first report from the relay that serves it. */
async function meterFor(deps: Deps, hostId: string, envId: string, at: number): Promise<MeterRow | null> {
  const [env] = await deps.db.select().from(tables.environments).where(eq(tables.environments.id, envId));
  if (env && env.host_id === hostId) {
    const price = await hourlyPrice(deps, env);
    await deps.db
      .insert(tables.envMeters)
      .values({
        environment_id: envId,
        account_id: accountOfEnv(env),
        host_id: hostId,
        hourly_price: price,
        updated_at: at,
      })
      .onConflictDoUpdate({ target: tables.envMeters.environment_id, set: { hourly_price: price } });
  }
  // After the environment is deleted its meter row still takes the relay's last report.
  const [m] = await deps.db.select().from(tables.envMeters).where(eq(tables.envMeters.environment_id, envId));
  return m ?? null;
}

/** Applies one report; safe to call again with the same or an older report (nothing happens then). */
export async function applyUsageReport(deps: Deps, hostId: string, r: UsageReport): Promise<MeterOutcome> {
  const at = Date.now();
  for (let attempt = 0; attempt < 5; attempt++) {
    const m = await meterFor(deps, hostId, r.environment_id, at);
    if (!m) return { charged: 0, seconds: 0, ignored: 'unknown_environment' };
    if (m.host_id !== hostId) return { charged: 0, seconds: m.seconds, ignored: 'other_host' };
    if (r.running_seconds <= m.seconds) return { charged: 0, seconds: m.seconds, ignored: 'not_newer' };
    const amount = costOf(r.running_seconds, m.hourly_price) - costOf(m.seconds, m.hourly_price);
    const advance = {
      sql: `UPDATE env_meters SET seconds = ?, charged = charged + ?, updated_at = ? WHERE environment_id = ? AND seconds = ?`,
      args: [r.running_seconds, amount, at, m.environment_id, m.seconds],
    };
    if (amount <= 0) {
      const res = await deps.database.client.execute(advance);
      if (res.rowsAffected === 1) return { charged: 0, seconds: r.running_seconds };
      continue;
    }
    const key = `meter:${m.environment_id}:${r.running_seconds}`;
    const posted = await postEntry(
      deps,
      {
        account_id: m.account_id,
        kind: 'charge',
        amount: -amount,
        idempotency_key: key,
        environment_id: m.environment_id,
        description: `${r.running_seconds - m.seconds} s running`,
        at,
      },
      {
        // Compare-and-set: the charge is written only if no other report moved the meter meanwhile.
        when: {
          sql: '(SELECT seconds FROM env_meters WHERE environment_id = ?) = ?',
          args: [m.environment_id, m.seconds],
        },
        also: [
          {
            ...advance,
            sql: `${advance.sql} AND EXISTS (SELECT 1 FROM ledger_entries WHERE idempotency_key = ?)`,
            args: [...advance.args, key],
          },
        ],
      },
    );
    if (posted.applied) return { charged: posted.duplicate ? 0 : amount, seconds: r.running_seconds };
  }
  throw new Error(`metering ${r.environment_id}: the meter kept moving under five attempts`);
}
