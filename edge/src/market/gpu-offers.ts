// What container GPUs can be had now: per online, undrained relay with the NVIDIA runtime, per model, total and free.
import { type GpuMarket, HostInventory, tables } from '@remotegpu/schema';
import { and, asc, eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { usedOn } from '../environments/scheduler.ts';

export async function gpuMarket(deps: Deps): Promise<GpuMarket> {
  const hosts = await deps.db
    .select()
    .from(tables.hosts)
    .where(and(eq(tables.hosts.status, 'online'), eq(tables.hosts.drained, false)))
    .orderBy(asc(tables.hosts.created_at));
  const out: GpuMarket = { hosts: [], models: [] };
  const models = new Map<string, GpuMarket['models'][number]>();
  for (const host of hosts) {
    const inv = HostInventory.safeParse(host.inventory);
    if (!inv.success || !inv.data.nvidia_runtime || !inv.data.gpus.length) continue;
    const used = await usedOn(deps, host.id);
    const mine = new Map<string, GpuMarket['hosts'][number]>();
    for (const g of inv.data.gpus) {
      const o = mine.get(g.name) ?? { host: host.name, gpu_model: g.name, memory_mib: g.memory_mib, total: 0, free: 0 };
      o.total++;
      if (!used.gpus.has(g.index)) o.free++;
      mine.set(g.name, o);
    }
    for (const o of mine.values()) {
      out.hosts.push(o);
      const m = models.get(o.gpu_model) ?? { gpu_model: o.gpu_model, memory_mib: o.memory_mib, total: 0, free: 0 };
      m.total += o.total;
      m.free += o.free;
      models.set(o.gpu_model, m);
    }
  }
  out.models = [...models.values()].sort((a, b) => a.gpu_model.localeCompare(b.gpu_model));
  return out;
}
