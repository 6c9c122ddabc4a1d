// Before anything starts costing money: enough balance (402 insufficient_balance) and within the account's quota
// (403 quota_exceeded).
import { tables } from '@remotegpu/schema';
import { and, eq, ne } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { balanceOf } from './ledger.ts';
import { envsOfAccounts } from './service.ts';

/** 402 unless the balance covers `needed` minor units (nothing is needed when it is 0). */
async function requireBalance(deps: Deps, accountId: string, needed: number, what: string): Promise<void> {
  if (needed <= 0) return;
  const balance = await balanceOf(deps.database.client, accountId);
  if (balance < needed) {
    const b = deps.config.billing;
    const fmt = (n: number) => `${(n / 10 ** b.minorDigits).toFixed(b.minorDigits)} ${b.currency}`;
    throw new ApiError(
      402,
      'insufficient_balance',
      `${what} needs a balance of at least ${fmt(needed)}; you have ${fmt(balance)}`,
    );
  }
}

/** Create/start of a container: the balance must cover REMOTEGPU_MIN_BALANCE_HOURS of its hourly price. */
export function requireHours(deps: Deps, accountId: string, hourlyPrice: number): Promise<void> {
  const needed = Math.ceil(hourlyPrice * deps.config.billing.minBalanceHours);
  return requireBalance(
    deps,
    accountId,
    needed,
    `running this environment for ${deps.config.billing.minBalanceHours} h`,
  );
}

/** Renting a machine: the first 30-day period is paid up front. */
export function requirePeriod(deps: Deps, accountId: string, periodPrice: number): Promise<void> {
  return requireBalance(deps, accountId, periodPrice, 'the first 30-day period of this machine');
}

/**
 * The admin's limits for an account: environments that exist at once, GPUs held at once (running or being created
 * containers, rented machines). `adding` is what the request would add; `except` an environment already counted.
 */
export async function checkQuota(
  deps: Deps,
  accountId: string,
  adding: { environments: number; gpus: number },
  except?: string,
): Promise<void> {
  const [q] = await deps.db.select().from(tables.accountQuotas).where(eq(tables.accountQuotas.account_id, accountId));
  if (!q || (q.max_environments == null && q.max_gpus == null)) return;
  const e = tables.environments;
  const rows = await deps.db
    .select({ id: e.id, status: e.status, gpus: e.gpu_count })
    .from(e)
    .where(and(envsOfAccounts([accountId]), ne(e.status, 'deleting')));
  const mine = rows.filter((r) => r.id !== except);
  if (q.max_environments != null && mine.length + adding.environments > q.max_environments) {
    throw new ApiError(
      403,
      'quota_exceeded',
      `your account may have ${q.max_environments} environment(s) at once; delete one or ask an administrator`,
    );
  }
  const held = mine.filter((r) => r.status === 'running' || r.status === 'creating').reduce((s, r) => s + r.gpus, 0);
  if (q.max_gpus != null && held + adding.gpus > q.max_gpus) {
    throw new ApiError(
      403,
      'quota_exceeded',
      `your account may hold ${q.max_gpus} GPU(s) at once (now ${held}); stop something or ask an administrator`,
    );
  }
}

/** Containers of an account that are running now (the zero-balance stop). */
export async function runningContainers(deps: Deps, accountIds: string[]) {
  if (!accountIds.length) return [];
  const e = tables.environments;
  return deps.db
    .select()
    .from(e)
    .where(and(envsOfAccounts(accountIds), eq(e.type, 'container'), eq(e.status, 'running')));
}
