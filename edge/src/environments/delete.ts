// Deleting an environment: the container goes, the route goes, then the rows; a physical machine returns to the pool.
import { CMD, COMMAND_ERROR, redisKeys, tables } from '@remotegpu/schema';
import { and, eq } from 'drizzle-orm';
import { bestEffort } from '../lib/unavailable.ts';
import type { Deps } from '../deps.ts';
import { syncEnvDns } from '../dns/sync.ts';
import { unpublishRoute } from '../routing/sync.ts';
import { commandError } from '../tunnel/command-errors.ts';
import { sendCommand } from '../tunnel/stub.ts';
import { closeUsage } from '../usage/service.ts';
import { endRental } from '../billing/rentals.ts';
import { releasePort } from './ports.ts';
import type { EnvRow } from './serialize.ts';

/** Returns true when the environment is gone, false when it waits (as `deleting`) for its relay. */
export async function deleteEnvironment(deps: Deps, env: EnvRow): Promise<boolean> {
  // The relay removes by environment: a container whose id the edge never learnt (a create cut off by a restart) goes too.
  if (env.type === 'container') {
    const outcome = await sendCommand(
      deps,
      env.host_id,
      CMD.containerRemove,
      { environment_id: env.id, container_id: env.container_id },
      deps.config.commandTimeoutMs,
    );
    // An offline relay removes the container when it reconnects (reconciliation); anything else is the caller's to see.
    if (!outcome.ok && outcome.error.code !== COMMAND_ERROR.hostOffline) throw commandError('delete', outcome.error);
  }
  await deps.db
    .update(tables.environments)
    .set({ status: 'deleting', updated_at: Date.now() })
    .where(eq(tables.environments.id, env.id));
  await closeUsage(deps, env.id);
  if (env.type === 'physical') await endRental(deps, env.id);
  // The SSH name goes with the environment (`deleting` has none); a DNS failure is left to the reconcile.
  await syncEnvDns(deps, env.id);
  const dropped = await unpublishRoute(deps, env);
  // A physical machine goes back to the pool only once its relay no longer routes to it; an offline
  // relay gets the route set without it on reconnect, and the deletion finishes then.
  if (!dropped) return false;
  await finish(deps, env);
  return true;
}

async function finish(deps: Deps, env: EnvRow): Promise<void> {
  await releasePort(deps, env.id);
  await deps.db.delete(tables.appPorts).where(eq(tables.appPorts.environment_id, env.id));
  await deps.db.delete(tables.metricSamples).where(eq(tables.metricSamples.environment_id, env.id));
  await bestEffort('forget metrics', () => deps.redis.del(redisKeys.metrics(env.id), redisKeys.progress(env.id)));
  await deps.db.delete(tables.environments).where(eq(tables.environments.id, env.id));
  if (env.physical_machine_id != null) {
    await deps.db
      .update(tables.machines)
      .set({ status: 'available', updated_at: Date.now() })
      .where(and(eq(tables.machines.id, env.physical_machine_id), eq(tables.machines.status, 'allocated')));
  }
}

/** Called after a relay's hello: environments it no longer serves can now be finished. */
export async function finalizeDeletions(deps: Deps, hostId: string): Promise<void> {
  const rows = await deps.db
    .select()
    .from(tables.environments)
    .where(and(eq(tables.environments.host_id, hostId), eq(tables.environments.status, 'deleting')));
  for (const env of rows) await finish(deps, env);
}
