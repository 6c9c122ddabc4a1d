// The money checks and records that environment code calls: one line at each place (create, start, allocate).
import { tables, type CreateEnvironmentRequest } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { AuthUser } from '../auth/service.ts';
import type { Deps } from '../deps.ts';
import { toMinor } from './config.ts';
import { checkQuota, requireHours, requirePeriod } from './guards.ts';
import { hourlyPrice } from './prices.ts';
import { startRental } from './rentals.ts';
import { accountOf, accountOfEnv } from './service.ts';

type EnvRow = typeof tables.environments.$inferSelect;
type ImageRow = typeof tables.images.$inferSelect;

/**
 * Before a container is created: quota (one more environment, its GPUs) and an hour's price in the balance of the
 * account that pays (the team's when `teamId` is given).
 */
export async function guardCreate(
  deps: Deps,
  user: AuthUser,
  body: Pick<CreateEnvironmentRequest, 'gpu_count'>,
  image: ImageRow,
  teamId: string | null = null,
): Promise<void> {
  const account = teamId ?? accountOf(user);
  await checkQuota(deps, account, { environments: 1, gpus: body.gpu_count });
  await requireHours(deps, account, toMinor(deps.config.billing, image.hourly_price));
}

/** Before a stopped container starts again: its GPUs within the quota and an hour's price in the balance. */
export async function guardStart(deps: Deps, env: EnvRow): Promise<void> {
  const account = accountOfEnv(env);
  await checkQuota(deps, account, { environments: 1, gpus: env.gpu_count }, env.id);
  await requireHours(deps, account, await hourlyPrice(deps, env));
}

/** Before a machine is rented: quota, and the first period's price in the balance (the team's with `teamId`). */
export async function guardAllocate(
  deps: Deps,
  user: AuthUser,
  machineId: number,
  teamId: string | null = null,
): Promise<void> {
  const [m] = await deps.db.select().from(tables.machines).where(eq(tables.machines.id, machineId));
  if (!m) return; // allocateMachine answers 404
  const account = teamId ?? accountOf(user);
  await checkQuota(deps, account, { environments: 1, gpus: m.gpu_count });
  await requirePeriod(deps, account, toMinor(deps.config.billing, m.monthly_price));
}

/** A machine was allocated: its first period is charged and its rental opened. */
export function rentalStarted(deps: Deps, env: EnvRow, monthlyPrice: number): Promise<void> {
  return startRental(deps, env, toMinor(deps.config.billing, monthlyPrice), env.created_at);
}
