// Allocating a physical machine: one conditional UPDATE decides the winner; losers leave nothing behind.
import { generateEnvironmentId, tables } from '@remotegpu/schema';
import { and, eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import type { AuthUser } from '../auth/service.ts';
import { syncEnvDns } from '../dns/sync.ts';
import { publishRoute } from '../routing/sync.ts';
import { pinHostKey } from '../admin/probe.ts';
import { openUsage } from '../usage/service.ts';
import { guardAllocate, rentalStarted } from '../billing/hooks.ts';
import { sshHostFor } from '../environments/access.ts';
import { newCredentials, reload } from '../environments/create.ts';
import { allocatePort, releasePort } from '../environments/ports.ts';
import type { EnvRow } from '../environments/serialize.ts';

/** Rents a machine to the user, or to their team when `teamId` is given (checked by teamForCreate; the team pays). */
export async function allocateMachine(
  deps: Deps,
  user: AuthUser,
  machineId: number,
  name?: string,
  teamId: string | null = null,
): Promise<EnvRow> {
  await guardAllocate(deps, user, machineId, teamId);
  const claimed = await deps.db
    .update(tables.machines)
    .set({ status: 'allocated', updated_at: Date.now() })
    .where(and(eq(tables.machines.id, machineId), eq(tables.machines.status, 'available')))
    .returning();
  const machine = claimed[0];
  if (!machine) {
    const [exists] = await deps.db
      .select({ id: tables.machines.id })
      .from(tables.machines)
      .where(eq(tables.machines.id, machineId));
    if (!exists) throw notFound('machine');
    throw new ApiError(409, 'machine_unavailable', 'this machine is not available');
  }
  const id = generateEnvironmentId();
  try {
    const [host] = await deps.db.select().from(tables.hosts).where(eq(tables.hosts.id, machine.host_id));
    if (!host) throw new ApiError(409, 'machine_unavailable', 'the machine has no relay');
    const port = await allocatePort(deps, host.id, id);
    const creds = await newCredentials(deps);
    const now = Date.now();
    await deps.db.insert(tables.environments).values({
      id,
      name: name ?? machine.name,
      type: 'physical',
      ssh_host: sshHostFor(deps, id, host),
      ssh_port: port,
      ssh_username: 'root',
      target_ip: machine.target_ip,
      physical_machine_id: machine.id,
      user_id: user.id,
      team_id: teamId,
      status: 'running',
      host_id: host.id,
      gpu_count: machine.gpu_count,
      cpu_cores: machine.cpu_cores,
      memory_gb: machine.memory_gb,
      password_hash: creds.password_hash,
      password_enc: creds.password_enc,
      started_at: now,
      request_id: id,
    });
  } catch (err) {
    // Put everything back: the machine is available again and no row or port remains.
    await releasePort(deps, id);
    await deps.db.delete(tables.environments).where(eq(tables.environments.id, id));
    await deps.db
      .update(tables.machines)
      .set({ status: 'available', updated_at: Date.now() })
      .where(eq(tables.machines.id, machine.id));
    throw err;
  }
  // Trust on first use: a machine enrolled while its relay was away is pinned before its first renter logs in.
  if (!machine.host_key) await pinHostKey(deps, machine);
  const env = await reload(deps, id);
  await openUsage(deps, env, 'monthly', machine.monthly_price, env.created_at);
  await rentalStarted(deps, env, machine.monthly_price);
  await publishRoute(deps, env);
  await syncEnvDns(deps, env.id);
  return env;
}
