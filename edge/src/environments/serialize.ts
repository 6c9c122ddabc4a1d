// Environment rows as the API shows them (never the password or its hash).
import { type Environment, tables } from '@remotegpu/schema';
import { iso, isoReq } from '../lib/time.ts';

export type EnvRow = typeof tables.environments.$inferSelect;

export function environmentJson(e: EnvRow): Environment {
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
    status: e.status,
    status_reason: e.status_reason,
    host_id: e.host_id,
    gpu_count: e.gpu_count,
    cpu_cores: e.cpu_cores,
    memory_gb: e.memory_gb,
    recording: e.recording,
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
