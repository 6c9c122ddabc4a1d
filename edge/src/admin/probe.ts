// Pins a physical machine's SSH host key: its relay reads the key (no login) and the edge stores it.
import { CMD, TargetProbeResult, tables } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { sendCommand } from '../tunnel/stub.ts';

type MachineRow = typeof tables.machines.$inferSelect;

/** Returns the pinned key, or null with the reason when the relay could not read it (offline, no sshd). */
export async function pinHostKey(deps: Deps, m: MachineRow): Promise<{ host_key: string | null; reason: string | null }> {
  const outcome = await sendCommand(deps, m.host_id, CMD.targetProbe, { ip: m.target_ip, port: m.ssh_port }, 15_000);
  if (!outcome.ok) return { host_key: null, reason: outcome.error.message };
  const r = TargetProbeResult.safeParse(outcome.data);
  if (!r.success) return { host_key: null, reason: 'the relay answered the probe with an invalid result' };
  await deps.db.update(tables.machines).set({ host_key: r.data.host_key, updated_at: Date.now() }).where(eq(tables.machines.id, m.id));
  return { host_key: r.data.host_key, reason: null };
}
