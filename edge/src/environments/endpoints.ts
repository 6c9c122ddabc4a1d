// /environments: create, list, show, start/stop/restart, rotate-password, delete, access info, metrics.
import {
  AccessInfo,
  CreateEnvironmentRequest,
  Environment,
  EnvironmentStatus,
  OwnerAccessInfo,
  ResourceMetrics,
  StartEnvironmentRequest,
  TEAM_HEADER,
  redisKeys,
  tables,
} from '@remotegpu/schema';
import { and, desc, eq, gte, inArray, or, type SQL } from 'drizzle-orm';
import type { Hono } from 'hono';
import { bestEffort } from '../lib/unavailable.ts';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import { ApiError } from '../errors.ts';
import { IdParam, endpoint, type AppEnv, type Ctx } from '../lib/api.ts';
import { clientIp } from '../lib/request.ts';
import { accessInfo, operatedEnv, ownedEnv } from './access.ts';
import { rotatePassword, runAction, type Action } from './actions.ts';
import { notifyEnvironment } from '../webhooks/environment-events.ts';
import { createEnvironment } from './create.ts';
import { deleteEnvironment } from './delete.ts';
import { environmentsJson, oneEnvironmentJson } from './serialize.ts';
import { startInMode } from './recreate.ts';
import { teamForCreate, teamIdsOf } from '../teams/service.ts';

const EnvResponse = z.object({ environment: Environment });
const ListQuery = z
  .object({
    status: EnvironmentStatus.optional(),
    type: z.enum(['physical', 'container']).optional(),
    user_id: z.string().max(64).optional(),
    all: z.enum(['true', 'false']).optional(),
  })
  .strict();

const audit = (
  c: Ctx,
  user: { id: string },
  env: { id: string; type: string; user_id: string },
  event: string,
  status = 'success',
  detail?: unknown,
) =>
  recordAudit(c.get('deps'), {
    event,
    status,
    user_id: env.user_id,
    actor_id: user.id,
    environment_id: env.id,
    type: env.type,
    source_ip: clientIp(c),
    detail,
  });

export function registerEnvironmentEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/environments',
      summary: "Create a container environment (header X-RemoteGPU-Team: a team id makes it that team's)",
      tag: 'environments',
      auth: 'user',
      body: CreateEnvironmentRequest,
      response: EnvResponse,
      status: 201,
    },
    async (c, { body, user }) => {
      const deps = c.get('deps');
      try {
        const teamId = await teamForCreate(deps, user, c.req.header(TEAM_HEADER));
        const { env, status } = await createEnvironment(deps, user, body, { teamId });
        await audit(c, user, env, 'environment.create');
        return c.json({ environment: await oneEnvironmentJson(deps, env) }, status);
      } catch (err) {
        await recordAudit(deps, {
          event: 'environment.create',
          status: 'failure',
          user_id: user.id,
          actor_id: user.id,
          type: 'container',
          source_ip: clientIp(c),
          detail: { error: String((err as Error).message ?? err).slice(0, 500) },
        });
        throw err;
      }
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/environments',
      summary: "Your environments and your teams' (admins: all, with ?all=true or ?user_id=)",
      tag: 'environments',
      auth: 'user',
      query: ListQuery,
      response: z.object({ items: z.array(Environment) }),
    },
    async (c, { query, user }) => {
      const t = tables.environments;
      const where: SQL[] = [];
      if (user.role !== 'admin' || (query.all !== 'true' && !query.user_id)) {
        // Your own, and every environment of the teams you belong to.
        const teams = await teamIdsOf(c.get('deps'), user.id);
        where.push(
          teams.length ? (or(eq(t.user_id, user.id), inArray(t.team_id, teams)) as SQL) : eq(t.user_id, user.id),
        );
      } else if (query.user_id) where.push(eq(t.user_id, query.user_id));
      if (query.status) where.push(eq(t.status, query.status));
      if (query.type) where.push(eq(t.type, query.type));
      const rows = await c
        .get('deps')
        .db.select()
        .from(t)
        .where(and(...where))
        .orderBy(desc(t.created_at))
        .limit(1000);
      return c.json({ items: await environmentsJson(c.get('deps'), rows) });
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/environments/:id',
      summary: 'One environment',
      tag: 'environments',
      auth: 'user',
      response: EnvResponse,
    },
    async (c, { user, params }) => {
      const env = await ownedEnv(c.get('deps'), user, params.id);
      const progress =
        env.status === 'creating'
          ? await bestEffort('pull progress', () => c.get('deps').redis.get(redisKeys.progress(env.id)))
          : null;
      return c.json({ environment: await oneEnvironmentJson(c.get('deps'), env), ...(progress ? { progress } : {}) });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/environments/:id/start',
      params: z.object({ id: IdParam }),
      summary: 'start a container environment; `{"gpu": false}` starts it without GPUs (无卡模式, the no-GPU price)',
      tag: 'environments',
      auth: 'user',
      body: StartEnvironmentRequest,
      response: EnvResponse,
    },
    async (c, { user, params, body }) => {
      const deps = c.get('deps');
      const env = await ownedEnv(deps, user, params.id);
      const detail = { gpu: body.gpu };
      try {
        if (env.type === 'container' && !['stopped', 'failed'].includes(env.status))
          throw new ApiError(409, 'invalid_state', `cannot start an environment that is ${env.status}`);
        const fresh = (await startInMode(deps, env, body.gpu)) ?? (await runAction(deps, env, 'start'));
        await audit(c, user, env, 'environment.start', 'success', detail);
        return c.json({ environment: await oneEnvironmentJson(c.get('deps'), fresh) });
      } catch (err) {
        await audit(c, user, env, 'environment.start', 'failure', { ...detail, error: String((err as Error).message) });
        throw err;
      }
    },
  );

  for (const action of ['stop', 'restart'] as Action[]) {
    endpoint(
      app,
      {
        method: 'post',
        path: `/api/v1/environments/:id/${action}`,
        params: z.object({ id: IdParam }),
        summary: `${action} a container environment`,
        tag: 'environments',
        auth: 'user',
        response: EnvResponse,
      },
      async (c, { user, params }) => {
        const deps = c.get('deps');
        const env = await ownedEnv(deps, user, params.id);
        try {
          const fresh = await runAction(deps, env, action);
          await audit(c, user, env, `environment.${action}`);
          if (action === 'stop') await notifyEnvironment(deps, fresh, 'environment.stopped', 'stopped by its owner');
          return c.json({ environment: await oneEnvironmentJson(deps, fresh) });
        } catch (err) {
          await audit(c, user, env, `environment.${action}`, 'failure', { error: String((err as Error).message) });
          throw err;
        }
      },
    );
  }

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/environments/:id/rotate-password',
      summary: 'Generate a new SSH password (effective at the next login)',
      tag: 'environments',
      auth: 'user',
      response: AccessInfo,
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const env = await ownedEnv(deps, user, params.id);
      const fresh = await rotatePassword(deps, env);
      await audit(c, user, env, 'environment.rotate_password');
      return c.json(await accessInfo(deps, fresh));
    },
  );

  endpoint(
    app,
    {
      method: 'delete',
      path: '/api/v1/environments/:id',
      summary: 'Delete an environment (a physical machine returns to the pool)',
      tag: 'environments',
      auth: 'user',
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const env = await ownedEnv(deps, user, params.id);
      const done = await deleteEnvironment(deps, env);
      await audit(c, user, env, env.type === 'physical' ? 'machine.release' : 'environment.delete', 'success', {
        completed: done,
      });
      return done ? c.body(null, 204) : c.json({ status: 'deleting' }, 202);
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/environments/:id/access',
      summary: "The owner's SSH login and app links",
      tag: 'environments',
      auth: 'user',
      response: OwnerAccessInfo,
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const env = await operatedEnv(deps, user, params.id, 'only the owner sees the login');
      // The relay's host keys (from its hello), so that clients such as the CLI can pin them.
      const [host] = await deps.db
        .select({ keys: tables.hosts.ssh_host_keys })
        .from(tables.hosts)
        .where(eq(tables.hosts.id, env.host_id));
      return c.json({ ...(await accessInfo(deps, env)), ssh_host_keys: host?.keys ?? [] });
    },
  );

  const MetricsQuery = z
    .object({ since: z.string().max(40).optional(), limit: z.coerce.number().int().min(1).max(5000).default(360) })
    .strict();
  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/environments/:id/metrics',
      summary: 'Latest metrics and history since a time',
      tag: 'environments',
      auth: 'user',
      query: MetricsQuery,
      response: z.object({ latest: ResourceMetrics.nullable(), history: z.array(ResourceMetrics) }),
    },
    async (c, { user, query, params }) => {
      const deps = c.get('deps');
      const env = await ownedEnv(deps, user, params.id);
      const since = query.since ? Date.parse(query.since) : Date.now() - 3600_000;
      const t = tables.metricSamples;
      const rows = await deps.db
        .select()
        .from(t)
        .where(and(eq(t.environment_id, env.id), gte(t.ts, Number.isFinite(since) ? since : 0)))
        .orderBy(desc(t.ts))
        .limit(query.limit);
      const history = rows.reverse().map((r) => r.payload as z.infer<typeof ResourceMetrics>);
      // Without Redis, no latest sample: the history (the database) still answers.
      const latest = await bestEffort('latest metrics', () => deps.redis.get<unknown>(redisKeys.metrics(env.id)));
      const parsed = ResourceMetrics.safeParse(typeof latest === 'string' ? JSON.parse(latest) : latest);
      return c.json({ latest: parsed.success ? parsed.data : null, history });
    },
  );
}
