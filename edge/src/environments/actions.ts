// start / stop / restart / rotate-password: the relay acts, then the database, Redis and the route follow.
import { CMD, ContainerActionResult, HostInventory, tables } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { publishRoute } from '../routing/sync.ts';
import { commandError } from '../tunnel/command-errors.ts';
import { sendCommand } from '../tunnel/stub.ts';
import { closeUsage, openUsage } from '../usage/service.ts';
import { guardStart } from '../billing/hooks.ts';
import { newCredentials, reload } from './create.ts';
import { fit, usedOn } from './scheduler.ts';
import type { EnvRow } from './serialize.ts';

export type Action = 'start' | 'stop' | 'restart';

const ALLOWED: Record<Action, EnvRow['status'][]> = {
  start: ['stopped', 'failed'],
  stop: ['running'],
  restart: ['running', 'stopped', 'failed'],
};

export async function runAction(deps: Deps, env: EnvRow, action: Action): Promise<EnvRow> {
  if (env.type !== 'container')
    throw new ApiError(409, 'not_supported', `a physical machine cannot be ${action}ed through the API`);
  if (!ALLOWED[action].includes(env.status))
    throw new ApiError(409, 'invalid_state', `cannot ${action} an environment that is ${env.status}`);
  if (!env.container_id) throw new ApiError(409, 'invalid_state', 'the environment has no container');
  if (action !== 'stop' && env.status !== 'running') {
    await guardStart(deps, env);
    await checkCapacity(deps, env);
  }
  const name = action === 'start' ? CMD.containerStart : action === 'stop' ? CMD.containerStop : CMD.containerRestart;
  const outcome = await sendCommand(
    deps,
    env.host_id,
    name,
    { environment_id: env.id, container_id: env.container_id },
    deps.config.commandTimeoutMs,
  );
  if (!outcome.ok) throw commandError(action, outcome.error);
  const result = ContainerActionResult.safeParse(outcome.data);
  const now = Date.now();
  const running = action !== 'stop';
  await deps.db
    .update(tables.environments)
    .set({
      status: running ? 'running' : 'stopped',
      status_reason: null,
      updated_at: now,
      ...(running ? { started_at: now } : {}),
      ...(result.success && result.data.ip ? { target_ip: result.data.ip } : {}),
    })
    .where(eq(tables.environments.id, env.id));
  const fresh = await reload(deps, env.id);
  if (running) {
    const [image] = env.image_id
      ? await deps.db.select().from(tables.images).where(eq(tables.images.id, env.image_id))
      : [];
    await openUsage(deps, fresh, 'hourly', image?.hourly_price ?? 0, now);
  } else {
    await closeUsage(deps, env.id, now);
  }
  await publishRoute(deps, fresh);
  return fresh;
}

async function checkCapacity(deps: Deps, env: EnvRow): Promise<void> {
  const [host] = await deps.db.select().from(tables.hosts).where(eq(tables.hosts.id, env.host_id));
  const inv = HostInventory.safeParse(host?.inventory);
  if (!inv.success) return;
  const used = await usedOn(deps, env.host_id, env.id);
  const devices = env.gpu_devices ?? [];
  if (
    devices.some((d) => used.gpus.has(d)) ||
    !fit(
      inv.data,
      used,
      { gpu_count: 0, cpu_cores: env.cpu_cores, memory_gb: env.memory_gb },
      deps.config.cpuOvercommit,
    )
  ) {
    throw new ApiError(409, 'no_capacity', 'the relay has no room to start this environment now');
  }
}

/** A new password: effective at the relay's next login (the route carries the new hash). */
export async function rotatePassword(deps: Deps, env: EnvRow): Promise<EnvRow> {
  const creds = await newCredentials(deps);
  await deps.db
    .update(tables.environments)
    .set({ password_hash: creds.password_hash, password_enc: creds.password_enc, updated_at: Date.now() })
    .where(eq(tables.environments.id, env.id));
  const fresh = await reload(deps, env.id);
  await publishRoute(deps, fresh);
  return fresh;
}
