// Environment rows as the API shows them (never the password or its hash), with their relay's reachability.
import { type Environment, tables } from '@remotegpu/schema';
import { inArray } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { iso, isoReq } from '../lib/time.ts';

export type EnvRow = typeof tables.environments.$inferSelect;
type HostPresence = Pick<typeof tables.hosts.$inferSelect, 'id' | 'status' | 'offline_reason' | 'last_seen_at'>;

/** Statuses for which a lost relay matters to the renter (a failed or deleted environment has nothing to reach). */
const LIVE = new Set(['creating', 'running', 'stopped']);

function environmentJson(e: EnvRow, host?: HostPresence | null): Environment {
  const unreachable =
    host && host.status === 'offline' && LIVE.has(e.status)
      ? {
          reason: `its relay is offline: ${host.offline_reason ?? 'disconnected'}`,
          since: isoReq(host.last_seen_at ?? e.updated_at),
        }
      : null;
  return {
    id: e.id,
    name: e.name,
    type: e.type,
    ssh_host: e.ssh_host,
    ssh_port: e.ssh_port,
    ssh_username: e.ssh_username,
    target_ip: e.target_ip,
    physical_machine_id: e.physical_machine_id,
    container_id: e.container_id,
    image_id: e.image_id,
    user_id: e.user_id,
    team_id: e.team_id,
    status: e.status,
    status_reason: e.status_reason,
    host_id: e.host_id,
    gpu_count: e.gpu_count,
    gpu_model: e.gpu_model ?? null,
    cpu_cores: e.cpu_cores,
    memory_gb: e.memory_gb,
    recording: e.recording,
    unreachable,
    created_at: isoReq(e.created_at),
    updated_at: isoReq(e.updated_at),
    gpu_mode: e.gpu_mode,
    data_bytes: e.data_bytes,
    data_measured_at: iso(e.data_measured_at),
    idle_stop_minutes: e.idle_stop_minutes,
    gpu_idle_threshold_pct: e.gpu_idle_threshold_pct,
    scheduled_stop_at: iso(e.scheduled_stop_at),
  };
}

/** Rows as the API shows them, each with its relay's presence (one query for all their hosts). */
export async function environmentsJson(deps: Deps, rows: EnvRow[]): Promise<Environment[]> {
  const ids = [...new Set(rows.map((r) => r.host_id))];
  const hosts = ids.length
    ? await deps.db
        .select({
          id: tables.hosts.id,
          status: tables.hosts.status,
          offline_reason: tables.hosts.offline_reason,
          last_seen_at: tables.hosts.last_seen_at,
        })
        .from(tables.hosts)
        .where(inArray(tables.hosts.id, ids))
    : [];
  const byId = new Map(hosts.map((h) => [h.id, h]));
  return rows.map((r) => environmentJson(r, byId.get(r.host_id)));
}

export async function oneEnvironmentJson(deps: Deps, row: EnvRow): Promise<Environment> {
  return (await environmentsJson(deps, [row]))[0]!;
}
