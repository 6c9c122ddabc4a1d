// Environments left `creating` by a restart (of the edge mid-request, or of the relay before it answered): after the
// create deadline they fail with a reason, so nothing waits forever. A container that does turn up later is adopted
// by the relay's next hello (reconciliation sets the environment running), so the renter never pays for a lost one.
import { redisKeys, tables } from '@remotegpu/schema';
import { and, eq, lt } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { bestEffort } from '../lib/unavailable.ts';
import { setFailed } from './create.ts';

/** Fails every environment `creating` since before the deadline with no pull in progress; returns their ids. */
export async function expireStuckCreates(deps: Deps, now = Date.now()): Promise<string[]> {
  const t = tables.environments;
  const stuck = await deps.db
    .select({ id: t.id, host_id: t.host_id })
    .from(t)
    .where(and(eq(t.status, 'creating'), lt(t.updated_at, now - deps.config.createDeadlineMs)));
  const failed: string[] = [];
  for (const env of stuck) {
    // A slow image pull reports progress (kept 10 minutes): still working, not stuck.
    if (await bestEffort('pull progress', () => deps.redis.exists(redisKeys.progress(env.id)))) continue;
    const minutes = Math.round(deps.config.createDeadlineMs / 6000) / 10;
    await setFailed(deps, env.id, `the create did not finish within ${minutes} min (the edge or the relay restarted)`);
    console.log(JSON.stringify({ level: 'warn', msg: 'stuck create failed', env_id: env.id, host_id: env.host_id }));
    failed.push(env.id);
  }
  return failed;
}
