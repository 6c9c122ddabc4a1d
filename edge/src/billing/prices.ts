// What an environment costs, in integer minor units: containers per running hour, physical machines per 30 days.
import { tables } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { toMinor } from './config.ts';

type EnvRow = typeof tables.environments.$inferSelect;
type ImageRow = typeof tables.images.$inferSelect;

/**
 * The hourly price of a container. Extension point for the no-GPU mode (issue 15): when the environment row says it
 * runs without GPUs (`no_gpu` true) and the image has a `no_gpu_hourly_price`, that price applies. Both fields are
 * read only if present, so this works before and after that change lands.
 */
function hourlyPriceOf(deps: Deps, env: EnvRow, image: ImageRow | undefined): number {
  if (!image) return 0;
  const noGpuPrice = (image as Record<string, unknown>)['no_gpu_hourly_price'];
  const noGpu = (env as Record<string, unknown>)['no_gpu'] === true;
  const major = noGpu && typeof noGpuPrice === 'number' ? noGpuPrice : image.hourly_price;
  return toMinor(deps.config.billing, major);
}

export async function hourlyPrice(deps: Deps, env: EnvRow): Promise<number> {
  if (env.type !== 'container' || env.image_id == null) return 0;
  const [image] = await deps.db.select().from(tables.images).where(eq(tables.images.id, env.image_id));
  return hourlyPriceOf(deps, env, image);
}

/** Cost of `seconds` of running at `perHour` minor units, rounded down: charging cumulative totals never drifts. */
export function costOf(seconds: number, perHour: number): number {
  return Math.floor((seconds * perHour) / 3600);
}
