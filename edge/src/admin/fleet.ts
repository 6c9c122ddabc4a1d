// Admin: the fleet at a glance: per relay, presence (and why it is offline), agent version, GPUs used/free by model, environments.
import { FleetHost, HostInventory, tables } from '@remotegpu/schema';
import { asc, inArray } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { Deps } from '../deps.ts';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { iso } from '../lib/time.ts';

const LIVE = ['creating', 'running', 'stopped'] as const;

async function fleet(deps: Deps): Promise<FleetHost[]> {
  const [hosts, envs] = await Promise.all([
    deps.db.select().from(tables.hosts).orderBy(asc(tables.hosts.created_at)),
    deps.db
      .select({
        host_id: tables.environments.host_id,
        status: tables.environments.status,
        type: tables.environments.type,
        gpu_devices: tables.environments.gpu_devices,
      })
      .from(tables.environments)
      .where(inArray(tables.environments.status, [...LIVE])),
  ]);
  return hosts.map((h) => {
    const mine = envs.filter((e) => e.host_id === h.id);
    // GPUs are held by creating and running containers (as the scheduler counts them).
    const used = new Set(
      mine.filter((e) => e.type === 'container' && e.status !== 'stopped').flatMap((e) => e.gpu_devices ?? []),
    );
    const inv = HostInventory.safeParse(h.inventory);
    const byModel = new Map<string, { gpu_model: string; total: number; used: number; free: number }>();
    for (const g of inv.success ? inv.data.gpus : []) {
      const m = byModel.get(g.name) ?? { gpu_model: g.name, total: 0, used: 0, free: 0 };
      m.total++;
      if (used.has(g.index)) m.used++;
      else m.free++;
      byModel.set(g.name, m);
    }
    return {
      id: h.id,
      name: h.name,
      public_ssh_host: h.public_ssh_host,
      status: h.status,
      offline_reason: h.status === 'offline' ? (h.offline_reason ?? null) : null,
      drained: h.drained,
      agent_version: h.agent_version,
      last_seen_at: iso(h.last_seen_at),
      gpus: [...byModel.values()],
      environments: {
        total: mine.length,
        running: mine.filter((e) => e.status === 'running').length,
        stopped: mine.filter((e) => e.status === 'stopped').length,
      },
    };
  });
}

export function registerFleetEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/admin/fleet',
      summary: 'Every relay: status (and why offline), agent version, GPUs used/free by model, environments, last seen',
      tag: 'admin',
      auth: 'admin',
      response: z.object({ items: z.array(FleetHost) }),
    },
    async (c) => c.json({ items: await fleet(c.get('deps')) }),
  );
}
