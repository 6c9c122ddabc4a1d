// Picks a relay with room for a container: GPUs by device index, CPU cores and memory, online and not drained.
import { HostInventory, tables } from '@remotegpu/schema';
import { and, eq, inArray } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { ApiError } from '../errors.ts';

export interface Placement {
  host: typeof tables.hosts.$inferSelect;
  gpuDevices: number[];
}

export interface Request {
  gpu_count: number;
  cpu_cores: number;
  memory_gb: number;
}

/** Statuses that hold resources on their host. */
const RESERVING = ['creating', 'running'] as const;

export async function usedOn(deps: Deps, hostId: string, excludeEnv?: string) {
  const envs = await deps.db
    .select()
    .from(tables.environments)
    .where(
      and(
        eq(tables.environments.host_id, hostId),
        eq(tables.environments.type, 'container'),
        inArray(tables.environments.status, [...RESERVING]),
      ),
    );
  const gpus = new Set<number>();
  let cpu = 0;
  let mem = 0;
  for (const e of envs) {
    if (e.id === excludeEnv) continue;
    cpu += e.cpu_cores;
    mem += e.memory_gb;
    for (const d of e.gpu_devices ?? []) gpus.add(d);
  }
  return { cpu, mem, gpus };
}

export function fit(
  inventory: HostInventory,
  used: { cpu: number; mem: number; gpus: Set<number> },
  req: Request,
  cpuOvercommit = 1,
): number[] | null {
  const memGb = Math.floor(inventory.memory_bytes / 1024 ** 3);
  if (used.cpu + req.cpu_cores > inventory.cpu_cores * cpuOvercommit || used.mem + req.memory_gb > memGb) return null;
  const free = inventory.gpus
    .map((g) => g.index)
    .filter((i) => !used.gpus.has(i))
    .sort((a, b) => a - b);
  if (free.length < req.gpu_count) return null;
  return free.slice(0, req.gpu_count);
}

export async function pickHost(deps: Deps, req: Request): Promise<Placement> {
  const hosts = await deps.db
    .select()
    .from(tables.hosts)
    .where(and(eq(tables.hosts.status, 'online'), eq(tables.hosts.drained, false)));
  if (!hosts.length) throw new ApiError(503, 'host_offline', 'no relay is online to run containers');
  let best: (Placement & { score: number }) | null = null;
  let anyGpuHost = false;
  for (const host of hosts) {
    const inv = HostInventory.safeParse(host.inventory);
    if (!inv.success) continue;
    if (inv.data.gpus.length && inv.data.nvidia_runtime) anyGpuHost = true;
    if (req.gpu_count > 0 && !inv.data.nvidia_runtime) continue;
    const devices = fit(inv.data, await usedOn(deps, host.id), req, deps.config.cpuOvercommit);
    if (!devices) continue;
    // Best fit for GPUs (keep whole machines free for big requests); otherwise the most free CPU.
    const score = req.gpu_count > 0 ? -inv.data.gpus.length : inv.data.cpu_cores;
    if (!best || score > best.score) best = { host, gpuDevices: devices, score };
  }
  if (!best) {
    if (req.gpu_count > 0 && !anyGpuHost) {
      throw new ApiError(409, 'no_capacity', 'no online relay has NVIDIA GPUs with the NVIDIA container runtime');
    }
    throw new ApiError(409, 'no_capacity', 'no relay has room for this request');
  }
  return { host: best.host, gpuDevices: best.gpuDevices };
}
