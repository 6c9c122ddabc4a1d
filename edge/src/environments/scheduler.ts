// Picks a relay with room for a container (GPUs of one model by device index, CPU cores, memory; online, not drained) by policy.
import { HostInventory, tables } from '@remotegpu/schema';
import { and, eq, inArray } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { ApiError } from '../errors.ts';

export interface Placement {
  host: typeof tables.hosts.$inferSelect;
  gpuDevices: number[];
  /** The model of those devices (nvidia-smi's name); null without GPUs. */
  gpuModel: string | null;
}

export interface Request {
  gpu_count: number;
  /** Only GPUs whose nvidia-smi name is this (case-insensitive); any one model when omitted. */
  gpu_model?: string | undefined;
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

/**
 * The devices a request gets on a host, or null when it does not fit: the lowest free indices of one model
 * (the one asked for, or the model with the most free GPUs), never a device in `used`.
 */
export function fit(
  inventory: HostInventory,
  used: { cpu: number; mem: number; gpus: Set<number> },
  req: Request,
  cpuOvercommit = 1,
): number[] | null {
  const memGb = Math.floor(inventory.memory_bytes / 1024 ** 3);
  if (used.cpu + req.cpu_cores > inventory.cpu_cores * cpuOvercommit || used.mem + req.memory_gb > memGb) return null;
  if (req.gpu_count === 0) return [];
  const want = req.gpu_model?.toLowerCase();
  const byModel = new Map<string, number[]>();
  for (const g of inventory.gpus) {
    if (used.gpus.has(g.index) || (want !== undefined && g.name.toLowerCase() !== want)) continue;
    byModel.set(g.name, [...(byModel.get(g.name) ?? []), g.index]);
  }
  const groups = [...byModel.values()].filter((free) => free.length >= req.gpu_count);
  if (!groups.length) return null;
  groups.sort((a, b) => b.length - a.length);
  return groups[0]!.sort((a, b) => a - b).slice(0, req.gpu_count);
}

/** What is left on a host once `used` is taken: free GPUs (all models) and free CPU cores. */
function freeAfter(inventory: HostInventory, used: { cpu: number; gpus: Set<number> }, cpuOvercommit: number) {
  return {
    gpus: inventory.gpus.filter((g) => !used.gpus.has(g.index)).length,
    cpu: inventory.cpu_cores * cpuOvercommit - used.cpu,
  };
}

/**
 * Orders two candidate hosts by policy (negative: `a` first). `pack` takes the host with the fewest free GPUs
 * (then the least free CPU), so partly used hosts fill up and whole hosts stay free for big jobs; `spread`
 * the most. Ties go to the older host, so that placement is predictable.
 */
export function comparePlacement(
  policy: 'pack' | 'spread',
  a: { gpus: number; cpu: number; created_at: number },
  b: { gpus: number; cpu: number; created_at: number },
): number {
  const sign = policy === 'pack' ? 1 : -1;
  return sign * (a.gpus - b.gpus) || sign * (a.cpu - b.cpu) || a.created_at - b.created_at;
}

export async function pickHost(deps: Deps, req: Request): Promise<Placement> {
  const hosts = await deps.db
    .select()
    .from(tables.hosts)
    .where(and(eq(tables.hosts.status, 'online'), eq(tables.hosts.drained, false)));
  if (!hosts.length) throw new ApiError(503, 'host_offline', 'no relay is online to run containers');
  let best: (Placement & { gpus: number; cpu: number; created_at: number }) | null = null;
  let anyGpuHost = false;
  let anyModel = false;
  const want = req.gpu_model?.toLowerCase();
  for (const host of hosts) {
    const inv = HostInventory.safeParse(host.inventory);
    if (!inv.success) continue;
    if (inv.data.gpus.length && inv.data.nvidia_runtime) anyGpuHost = true;
    if (req.gpu_count > 0 && !inv.data.nvidia_runtime) continue;
    if (want !== undefined && inv.data.gpus.some((g) => g.name.toLowerCase() === want)) anyModel = true;
    const used = await usedOn(deps, host.id);
    const devices = fit(inv.data, used, req, deps.config.cpuOvercommit);
    if (!devices) continue;
    const gpuModel = devices.length ? (inv.data.gpus.find((g) => g.index === devices[0])?.name ?? null) : null;
    const free = freeAfter(inv.data, used, deps.config.cpuOvercommit);
    const cand = { host, gpuDevices: devices, gpuModel, created_at: host.created_at, ...free };
    if (!best || comparePlacement(deps.config.placementPolicy, cand, best) < 0) best = cand;
  }
  if (!best) {
    if (req.gpu_count > 0 && !anyGpuHost) {
      throw new ApiError(409, 'no_capacity', 'no online relay has NVIDIA GPUs with the NVIDIA container runtime');
    }
    if (want !== undefined && !anyModel)
      throw new ApiError(409, 'no_capacity', `no online relay has ${req.gpu_model} GPUs (see GET /api/v1/market/gpus)`);
    throw new ApiError(
      409,
      'no_capacity',
      want !== undefined
        ? `no relay has ${req.gpu_count} free ${req.gpu_model} GPUs with room for this request now`
        : 'no relay has room for this request',
    );
  }
  return { host: best.host, gpuDevices: best.gpuDevices, gpuModel: best.gpuModel };
}
