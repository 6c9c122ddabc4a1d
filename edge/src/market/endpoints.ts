// The computing market: browse the physical pool and rent a machine.
import {
  AccessInfo,
  AllocateMachineRequest,
  Environment,
  GpuMarket,
  Machine,
  MarketQuery,
  TEAM_HEADER,
  tables,
} from '@remotegpu/schema';
import { and, asc, count, eq, gte, type SQL } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import { notFound } from '../errors.ts';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { clientIp } from '../lib/request.ts';
import { accessInfo } from '../environments/access.ts';
import { oneEnvironmentJson } from '../environments/serialize.ts';
import { allocateMachine } from './allocate.ts';
import { teamForCreate } from '../teams/service.ts';
import { gpuMarket } from './gpu-offers.ts';

export const machineJson = (m: typeof tables.machines.$inferSelect) => ({
  id: m.id,
  name: m.name,
  region: m.region,
  gpu_model: m.gpu_model,
  gpu_count: m.gpu_count,
  gpu_memory: m.gpu_memory,
  cpu_cores: m.cpu_cores,
  memory_gb: m.memory_gb,
  disk_gb: m.disk_gb,
  monthly_price: m.monthly_price,
  status: m.status,
});

export function registerMarketEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/market/gpus',
      summary: 'Container GPUs that can be had now: per relay and per model, total and free',
      tag: 'market',
      auth: 'user',
      response: GpuMarket,
    },
    async (c) => c.json(await gpuMarket(c.get('deps'))),
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/market/machines',
      summary: 'Browse the physical pool',
      tag: 'market',
      auth: 'user',
      query: MarketQuery,
      response: z.object({ items: z.array(Machine), total: z.number(), page: z.number(), page_size: z.number() }),
    },
    async (c, { query }) => {
      const t = tables.machines;
      const where: SQL[] = [];
      if (query.region) where.push(eq(t.region, query.region));
      if (query.gpu_model) where.push(eq(t.gpu_model, query.gpu_model));
      if (query.min_gpus != null) where.push(gte(t.gpu_count, query.min_gpus));
      if (query.status) where.push(eq(t.status, query.status));
      const db = c.get('deps').db;
      const [rows, [total]] = await Promise.all([
        db
          .select()
          .from(t)
          .where(and(...where))
          .orderBy(asc(t.id))
          .limit(query.page_size)
          .offset((query.page - 1) * query.page_size),
        db
          .select({ n: count() })
          .from(t)
          .where(and(...where)),
      ]);
      return c.json({
        items: rows.map(machineJson),
        total: total?.n ?? 0,
        page: query.page,
        page_size: query.page_size,
      });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/market/machines/:id/allocate',
      summary: 'Rent a machine: returns the environment and its login (header X-RemoteGPU-Team: for that team)',
      tag: 'market',
      auth: 'user',
      body: AllocateMachineRequest,
      response: z.object({ environment: Environment, access: AccessInfo }),
      status: 201,
    },
    async (c, { body, user, params }) => {
      const deps = c.get('deps');
      const raw = params.id;
      if (!/^[1-9][0-9]{0,15}$/.test(raw)) throw notFound('machine');
      const machineId = Number(raw);
      try {
        const teamId = await teamForCreate(deps, user, c.req.header(TEAM_HEADER));
        const env = await allocateMachine(deps, user, machineId, body.name, teamId);
        await recordAudit(deps, {
          event: 'machine.allocate',
          status: 'success',
          user_id: user.id,
          actor_id: user.id,
          environment_id: env.id,
          type: 'physical',
          source_ip: clientIp(c),
          detail: { machine_id: machineId },
        });
        return c.json({ environment: await oneEnvironmentJson(deps, env), access: await accessInfo(deps, env) }, 201);
      } catch (err) {
        await recordAudit(deps, {
          event: 'machine.allocate',
          status: 'failure',
          user_id: user.id,
          actor_id: user.id,
          type: 'physical',
          source_ip: clientIp(c),
          detail: { machine_id: machineId, error: String((err as Error).message) },
        });
        throw err;
      }
    },
  );
}
