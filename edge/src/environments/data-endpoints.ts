// /environments/:id/data (the data volume and its size), /environments/:id/recreate (another image, same data),
// /data-volumes (deleted environments' retained data, yours and your teams': list, restore into a new environment,
// delete now).
import {
  AutoStopRequest,
  CloneEnvironmentRequest,
  Environment,
  EnvironmentData,
  RecreateEnvironmentRequest,
  RestoreDataRequest,
  RetainedData,
  tables,
} from '@remotegpu/schema';
import { and, eq, gt } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import type { AuthUser } from '../auth/service.ts';
import type { Deps } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { clientIp } from '../lib/request.ts';
import { iso, isoReq } from '../lib/time.ts';
import { sendCommand } from '../tunnel/stub.ts';
import { mayUse, teamIdsOf, teamRole } from '../teams/service.ts';
import { operatedEnv, ownedEnv } from './access.ts';
import { createEnvironment, reload } from './create.ts';
import { publishRoute } from '../routing/sync.ts';
import { dataVolumeOf, listRetained, measureData, removeRetained, type RetainedRow } from './data.ts';
import { changeImage } from './recreate.ts';
import { oneEnvironmentJson } from './serialize.ts';

const retainedJson = (r: RetainedRow) => ({
  id: r.id,
  environment_id: r.environment_id,
  environment_name: r.environment_name,
  image_id: r.image_id,
  host_id: r.host_id,
  data_path: r.data_path,
  bytes: r.bytes,
  deleted_at: isoReq(r.deleted_at),
  expires_at: isoReq(r.expires_at),
  team_id: r.team_id,
});

export function registerDataEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/environments/:id/data',
      summary: "The environment's persistent data volume and its size in bytes (measured now when the relay answers)",
      tag: 'environments',
      auth: 'user',
      response: EnvironmentData,
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const env = await ownedEnv(deps, user, params.id);
      if (env.type !== 'container') throw new ApiError(409, 'not_supported', 'a physical machine has no data volume');
      const [image] = env.image_id
        ? await deps.db.select().from(tables.images).where(eq(tables.images.id, env.image_id))
        : [];
      const size = await measureData(deps, env);
      return c.json({
        volume: dataVolumeOf(env),
        data_path: image?.data_path ?? '/root/data',
        bytes: size.bytes,
        measured_at: iso(size.measured_at),
      });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/environments/:id/recreate',
      summary: 'Re-create the container from another image; the data volume, SSH port and password stay',
      tag: 'environments',
      auth: 'user',
      body: RecreateEnvironmentRequest,
      response: z.object({ environment: Environment }),
    },
    async (c, { user, params, body }) => {
      const deps = c.get('deps');
      const env = await ownedEnv(deps, user, params.id);
      const [image] = await deps.db.select().from(tables.images).where(eq(tables.images.id, body.image_id));
      // The catalog, the environment creator's saved images, or its team's.
      const usable =
        image &&
        (image.owner_id === null || image.owner_id === env.user_id || (!!env.team_id && image.team_id === env.team_id));
      if (!image || !usable)
        throw new ApiError(422, 'validation_failed', `invalid body: image_id: no image ${body.image_id}`);
      const fresh = await changeImage(deps, env, image);
      await recordAudit(deps, {
        event: 'environment.recreate',
        status: 'success',
        user_id: env.user_id,
        actor_id: user.id,
        environment_id: env.id,
        type: env.type,
        source_ip: clientIp(c),
        detail: { image_id: image.id },
      });
      return c.json({ environment: await oneEnvironmentJson(c.get('deps'), fresh) });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/environments/:id/clone',
      summary: 'A new environment copying this one (its system files and its data) on the same host',
      tag: 'environments',
      auth: 'user',
      body: CloneEnvironmentRequest,
      response: z.object({ environment: Environment }),
      status: 201,
    },
    async (c, { user, params, body }) => {
      const deps = c.get('deps');
      const src = await operatedEnv(deps, user, params.id, 'only the owner clones an environment');
      if (
        src.type !== 'container' ||
        !src.container_id ||
        !['running', 'stopped'].includes(src.status) ||
        src.image_id === null
      )
        throw new ApiError(409, 'invalid_state', `cannot clone an environment that is ${src.status}`);
      const { env, status } = await createEnvironment(
        deps,
        user,
        {
          name: body.name,
          image_id: src.image_id,
          gpu_count: body.gpu_count ?? src.gpu_count,
          cpu_cores: body.cpu_cores ?? src.cpu_cores,
          memory_gb: body.memory_gb ?? src.memory_gb,
        },
        // A team's environment clones into the same team (its balance pays).
        { hostId: src.host_id, cloneFrom: { environmentId: src.id, volume: dataVolumeOf(src) }, teamId: src.team_id },
      );
      await recordAudit(deps, {
        event: 'environment.clone',
        status: 'success',
        user_id: user.id,
        actor_id: user.id,
        environment_id: env.id,
        type: 'container',
        source_ip: clientIp(c),
        detail: { from_environment_id: src.id },
      });
      return c.json({ environment: await oneEnvironmentJson(c.get('deps'), env) }, status === 202 ? 202 : 201);
    },
  );

  endpoint(
    app,
    {
      method: 'put',
      path: '/api/v1/environments/:id/auto-stop',
      summary: 'Opt in to (or out of) idle stop and scheduled stop; the relay enforces them, warning first',
      tag: 'environments',
      auth: 'user',
      body: AutoStopRequest,
      response: z.object({ environment: Environment }),
    },
    async (c, { user, params, body }) => {
      const deps = c.get('deps');
      const env = await ownedEnv(deps, user, params.id);
      if (env.type !== 'container') throw new ApiError(409, 'not_supported', 'auto stop is for container environments');
      const at = body.scheduled_stop_at === null ? null : Date.parse(body.scheduled_stop_at);
      if (at !== null && at <= Date.now())
        throw new ApiError(422, 'validation_failed', 'invalid body: scheduled_stop_at: must be in the future');
      await deps.db
        .update(tables.environments)
        .set({
          idle_stop_minutes: body.idle_stop_minutes,
          gpu_idle_threshold_pct: body.gpu_idle_threshold_pct,
          scheduled_stop_at: at,
          updated_at: Date.now(),
        })
        .where(eq(tables.environments.id, env.id));
      const fresh = await reload(deps, env.id);
      await publishRoute(deps, fresh);
      await recordAudit(deps, {
        event: 'environment.auto_stop',
        status: 'success',
        user_id: env.user_id,
        actor_id: user.id,
        environment_id: env.id,
        type: env.type,
        source_ip: clientIp(c),
        detail: body,
      });
      return c.json({ environment: await oneEnvironmentJson(c.get('deps'), fresh) });
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/data-volumes',
      summary: "Your and your teams' deleted environments' data, kept until it expires (REMOTEGPU_DATA_RETENTION_DAYS)",
      tag: 'environments',
      auth: 'user',
      response: z.object({ items: z.array(RetainedData) }),
    },
    async (c, { user }) => {
      const deps = c.get('deps');
      const rows = await listRetained(deps, user.id, await teamIdsOf(deps, user.id));
      return c.json({ items: rows.map(retainedJson) });
    },
  );

  /**
   * Retained data the user may act on: their own or their team's (404 for anyone else, 403 `forbidden_role` for a
   * read-only member of its team).
   */
  const retainedOr404 = async (deps: Deps, user: AuthUser, id: string) => {
    const t = tables.retainedData;
    const [row] = await deps.db
      .select()
      .from(t)
      .where(and(eq(t.id, id), gt(t.expires_at, Date.now())));
    if (!row || !(await mayUse(deps, user, { creator: row.user_id, team_id: row.team_id }, true)))
      throw notFound('data volume');
    return row;
  };

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/data-volumes/:id/restore',
      summary: 'A new environment with this data (on the host that keeps it); the data volume is no longer retained',
      tag: 'environments',
      auth: 'user',
      body: RestoreDataRequest,
      response: z.object({ environment: Environment }),
      status: 201,
    },
    async (c, { user, params, body }) => {
      const deps = c.get('deps');
      const row = await retainedOr404(deps, user, params.id);
      // A team's data restores into the team (its balance pays) for its members; its creator, left the team, gets it back.
      const teamId = row.team_id && (await teamRole(deps, user.id, row.team_id)) ? row.team_id : null;
      const imageId = body.image_id ?? row.image_id;
      if (imageId === null) throw new ApiError(422, 'validation_failed', 'invalid body: image_id: required');
      // Claim the row first: two restores of one volume must not both mount it.
      const claimed = await deps.db
        .delete(tables.retainedData)
        .where(eq(tables.retainedData.id, row.id))
        .returning({ id: tables.retainedData.id });
      if (!claimed.length) throw notFound('data volume');
      try {
        const { env, status } = await createEnvironment(
          deps,
          user,
          {
            name: body.name,
            image_id: imageId,
            gpu_count: body.gpu_count,
            cpu_cores: body.cpu_cores,
            memory_gb: body.memory_gb,
          },
          { hostId: row.host_id, dataVolume: row.volume, teamId },
        );
        await recordAudit(deps, {
          event: 'environment.restore',
          status: 'success',
          user_id: user.id,
          actor_id: user.id,
          environment_id: env.id,
          type: 'container',
          source_ip: clientIp(c),
          detail: { from_environment_id: row.environment_id, volume: row.volume },
        });
        return c.json({ environment: await oneEnvironmentJson(c.get('deps'), env) }, status === 202 ? 202 : 201);
      } catch (err) {
        await deps.db.insert(tables.retainedData).values(row).onConflictDoNothing();
        throw err;
      }
    },
  );

  endpoint(
    app,
    {
      method: 'delete',
      path: '/api/v1/data-volumes/:id',
      summary: 'Delete retained data now (before it expires)',
      tag: 'environments',
      auth: 'user',
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const row = await retainedOr404(deps, user, params.id);
      const done = await removeRetained(deps, row, (name, args) => sendCommand(deps, row.host_id, name, args));
      if (!done) throw new ApiError(503, 'host_offline', 'the relay keeping this data could not remove it now');
      return c.body(null, 204);
    },
  );
}
