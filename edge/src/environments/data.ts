// Persistent data: each container environment's named volume, its size, and what happens to it on delete
// (kept for the operator's retention period, listed to its owner and its team, restorable, removed by a periodic sweep).
import { CMD, VolumeUsageResult, dataVolumeName, generateEnvironmentId, tables } from '@remotegpu/schema';
import { and, asc, eq, gt, inArray, lte, or } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import type { CommandOutcome } from '../tunnel/host-tunnel.ts';
import { sendCommand } from '../tunnel/stub.ts';
import type { EnvRow } from './serialize.ts';

const DAY = 86_400_000;

export type RetainedRow = typeof tables.retainedData.$inferSelect;

/** Sends a command to one relay (the Worker through the HostTunnel stub, the HostTunnel itself directly). */
export type Send = (name: string, args: unknown) => Promise<CommandOutcome>;

export const dataVolumeOf = (env: Pick<EnvRow, 'id' | 'data_volume'>): string =>
  env.data_volume ?? dataVolumeName(env.id);

/**
 * Measures the environment's data volume on its relay and stores the size (bytes) on the row. Returns the size,
 * or the last known one when the relay cannot answer.
 */
export async function measureData(
  deps: Deps,
  env: EnvRow,
): Promise<{ bytes: number | null; measured_at: number | null }> {
  const volume = dataVolumeOf(env);
  const outcome = await sendCommand(deps, env.host_id, CMD.volumeUsage, { volumes: [volume] });
  const parsed = outcome.ok ? VolumeUsageResult.safeParse(outcome.data) : null;
  const bytes = parsed?.success ? (parsed.data.usage.find((u) => u.volume === volume)?.bytes ?? null) : undefined;
  if (bytes === undefined) return { bytes: env.data_bytes, measured_at: env.data_measured_at };
  const now = Date.now();
  await deps.db
    .update(tables.environments)
    .set({ data_bytes: bytes, data_measured_at: now })
    .where(eq(tables.environments.id, env.id));
  return { bytes, measured_at: now };
}

/**
 * Called when a container environment is deleted (its container already removed, or to be removed by its relay):
 * the volume is recorded as retained until now + the retention period. With retention 0 it is removed at once; a
 * relay that cannot do that now leaves the row for the sweep, so no volume is forgotten.
 */
export async function retainData(deps: Deps, env: EnvRow, imageDataPath: string): Promise<void> {
  const now = Date.now();
  const row = {
    id: generateEnvironmentId(),
    user_id: env.user_id,
    host_id: env.host_id,
    volume: dataVolumeOf(env),
    environment_id: env.id,
    environment_name: env.name,
    image_id: env.image_id,
    data_path: imageDataPath,
    bytes: env.data_bytes,
    deleted_at: now,
    expires_at: now + Math.round(deps.config.dataRetentionDays * DAY),
    // A team's environment leaves the team's data: its members restore or delete it.
    team_id: env.team_id,
  };
  await deps.db.insert(tables.retainedData).values(row).onConflictDoNothing();
  if (deps.config.dataRetentionDays === 0)
    await removeRetained(deps, row, (name, args) => sendCommand(deps, env.host_id, name, args));
}

/** Removes the volume on its relay and, once gone, the row. Returns false when the relay could not (yet). */
export async function removeRetained(deps: Deps, row: RetainedRow, send: Send): Promise<boolean> {
  const outcome = await send(CMD.volumeRemove, { volume: row.volume });
  if (!outcome.ok) {
    console.log(
      JSON.stringify({
        level: 'warn',
        msg: 'data volume not removed yet',
        host_id: row.host_id,
        env_id: row.environment_id,
        volume: row.volume,
        error: outcome.error,
      }),
    );
    return false;
  }
  await deps.db.delete(tables.retainedData).where(eq(tables.retainedData.id, row.id));
  return true;
}

/** The periodic sweep (each relay's HostTunnel alarm): volumes past their retention are removed. */
export async function sweepRetainedData(deps: Deps, hostId: string, send: Send, now = Date.now()): Promise<number> {
  const t = tables.retainedData;
  const due = await deps.db
    .select()
    .from(t)
    .where(and(eq(t.host_id, hostId), lte(t.expires_at, now)))
    .orderBy(asc(t.expires_at))
    .limit(50);
  let removed = 0;
  for (const row of due) if (await removeRetained(deps, row, send)) removed++;
  return removed;
}

/** Retained volumes that have not expired: the user's own and those of the given teams (the user's). */
export async function listRetained(
  deps: Deps,
  userId: string,
  teamIds: string[],
  now = Date.now(),
): Promise<RetainedRow[]> {
  const t = tables.retainedData;
  const whose = teamIds.length ? or(eq(t.user_id, userId), inArray(t.team_id, teamIds)) : eq(t.user_id, userId);
  return deps.db
    .select()
    .from(t)
    .where(and(whose, gt(t.expires_at, now)))
    .orderBy(asc(t.deleted_at));
}
