// Pins a physical machine's SSH host key: its relay reads the key (probe, no login) or enrols the machine (one-time login).
import { CMD, TargetEnrolResult, TargetProbeResult, tables } from '@remotegpu/schema';
import type { MachineEnrolment } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { commandError } from '../tunnel/command-errors.ts';
import { sendCommand } from '../tunnel/stub.ts';

type MachineRow = typeof tables.machines.$inferSelect;

/** Returns the pinned key, or null with the reason when the relay could not read it (offline, no sshd). */
export async function pinHostKey(
  deps: Deps,
  m: MachineRow,
): Promise<{ host_key: string | null; reason: string | null }> {
  const outcome = await sendCommand(deps, m.host_id, CMD.targetProbe, { ip: m.target_ip, port: m.ssh_port }, 15_000);
  if (!outcome.ok) return { host_key: null, reason: outcome.error.message };
  const r = TargetProbeResult.safeParse(outcome.data);
  if (!r.success) return { host_key: null, reason: 'the relay answered the probe with an invalid result' };
  await deps.db
    .update(tables.machines)
    .set({ host_key: r.data.host_key, updated_at: Date.now() })
    .where(eq(tables.machines.id, m.id));
  return { host_key: r.data.host_key, reason: null };
}

/**
 * Enrols a machine: its relay logs in once with the admin's one-time credentials, authorizes its platform key and reads
 * the host key, which is pinned here. The credentials go to the relay inside the command and nowhere else.
 */
export async function enrolMachine(
  deps: Deps,
  m: MachineRow,
  creds: MachineEnrolment,
): Promise<{ host_key: string; installed: boolean }> {
  const args = {
    ip: m.target_ip,
    port: m.ssh_port,
    username: creds.username ?? 'root',
    ...(creds.password !== undefined ? { password: creds.password } : {}),
    ...(creds.private_key !== undefined ? { private_key: creds.private_key } : {}),
    ...(creds.passphrase !== undefined ? { passphrase: creds.passphrase } : {}),
  };
  const outcome = await sendCommand(deps, m.host_id, CMD.targetEnrol, args, 45_000);
  // Wrong credentials are the admin's to fix (422), an offline relay is 503 (tunnel/command-errors.ts).
  if (!outcome.ok) throw commandError('enrol', outcome.error);
  const r = TargetEnrolResult.safeParse(outcome.data);
  if (!r.success) throw new ApiError(502, 'enrol_failed', 'the relay answered the enrolment with an invalid result');
  await deps.db
    .update(tables.machines)
    .set({ host_key: r.data.host_key, updated_at: Date.now() })
    .where(eq(tables.machines.id, m.id));
  return r.data;
}
