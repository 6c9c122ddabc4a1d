// The periodic money work (cron, every minute; also POST /admin/billing/sweep): stop containers of accounts at zero,
// renew or expire rentals, send due webhook deliveries.
import { tables } from '@remotegpu/schema';
import { eq, lte } from 'drizzle-orm';
import { ready } from '../boot.ts';
import { buildDeps, type Deps } from '../deps.ts';
import type { Bindings } from '../env.ts';
import { runAction } from '../environments/actions.ts';
import { deleteEnvironment } from '../environments/delete.ts';
import { deliverDue } from '../webhooks/delivery.ts';
import { notifyEnvironment } from '../webhooks/environment-events.ts';
import { runningContainers } from './guards.ts';
import { sweepRentals } from './rentals.ts';

const ZERO_BALANCE_REASON =
  'stopped because the account balance reached zero; the data is kept: top up the balance and start it again';

/** Stops every running container of accounts whose balance is zero or below (their disks stay). */
async function stopExhausted(deps: Deps, now: number): Promise<string[]> {
  const empty = await deps.db
    .select({ id: tables.accountBalances.account_id })
    .from(tables.accountBalances)
    .where(lte(tables.accountBalances.balance, 0));
  const stopped: string[] = [];
  for (const env of await runningContainers(
    deps,
    empty.map((a) => a.id),
  )) {
    try {
      await runAction(deps, env, 'stop');
    } catch (err) {
      console.log(
        JSON.stringify({
          level: 'warn',
          msg: 'zero-balance stop failed',
          env_id: env.id,
          host_id: env.host_id,
          error: String(err),
        }),
      );
      continue;
    }
    await deps.db
      .update(tables.environments)
      .set({ status_reason: ZERO_BALANCE_REASON, updated_at: now })
      .where(eq(tables.environments.id, env.id));
    await notifyEnvironment(deps, { ...env, status: 'stopped' }, 'environment.stopped', 'balance_exhausted', now);
    stopped.push(env.id);
    console.log(
      JSON.stringify({ level: 'info', msg: 'stopped at zero balance', env_id: env.id, host_id: env.host_id }),
    );
  }
  return stopped;
}

export async function runBillingSweep(deps: Deps, now = Date.now()) {
  const stopped = await stopExhausted(deps, now);
  const rentals = await sweepRentals(deps, now, async (env) => {
    await deleteEnvironment(deps, env);
  });
  const deliveries = await deliverDue(deps, now);
  return { stopped, rentals, deliveries };
}

/** The cron's entry: one sweep, logged; a failure fails the cron invocation. */
export async function runBillingCron(env: Bindings): Promise<void> {
  const deps = buildDeps(env);
  await ready(deps);
  const r = await runBillingSweep(deps);
  console.log(
    JSON.stringify({ level: 'info', msg: 'billing sweep', stopped: r.stopped.length, deliveries: r.deliveries }),
  );
}
