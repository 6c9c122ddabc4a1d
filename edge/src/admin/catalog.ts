// Admin: the physical pool (machines), images, users, and the routing cache rebuild; renters list images.
import {
  AdminMachine,
  CreateImageRequest,
  CreateMachineRequest,
  Image,
  MachineEnrolment,
  UpdateMachineRequest,
  User,
  tables,
} from '@remotegpu/schema';
import { and, asc, eq, inArray, isNull, ne, notExists, or } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import { userJson } from '../auth/endpoints.ts';
import { ApiError, conflict, notFound } from '../errors.ts';
import { endpoint, type AppEnv, type Ctx } from '../lib/api.ts';
import { clientIp } from '../lib/request.ts';
import { machineJson } from '../market/endpoints.ts';
import { rebuildRedis } from '../routing/sync.ts';
import { enrolMachine, pinHostKey } from './probe.ts';
import { teamIdsOf } from '../teams/service.ts';

const adminMachineJson = (m: typeof tables.machines.$inferSelect) => ({
  ...machineJson(m),
  target_ip: m.target_ip,
  ssh_port: m.ssh_port,
  host_id: m.host_id,
  host_key: m.host_key,
});
export const imageJson = (i: typeof tables.images.$inferSelect) => ({
  id: i.id,
  name: i.name,
  docker_ref: i.docker_ref,
  has_sshd: i.has_sshd,
  hourly_price: i.hourly_price,
  no_gpu_hourly_price: i.no_gpu_hourly_price,
  data_path: i.data_path,
  description: i.description,
  owner_id: i.owner_id,
  status: i.status,
  status_reason: i.status_reason,
  size_bytes: i.size_bytes,
  source_environment_id: i.source_environment_id,
  team_id: i.team_id,
});

async function machineOr404(c: Ctx, param: string): Promise<typeof tables.machines.$inferSelect> {
  const id = Number(param);
  const [m] =
    Number.isInteger(id) && id > 0
      ? await c.get('deps').db.select().from(tables.machines).where(eq(tables.machines.id, id))
      : [];
  if (!m) throw notFound('machine');
  return m;
}

export function registerCatalogEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/admin/machines',
      summary: 'Add a machine to the pool',
      tag: 'admin',
      auth: 'admin',
      body: CreateMachineRequest,
      response: z.object({ machine: AdminMachine }),
      status: 201,
    },
    async (c, { body, user }) => {
      const deps = c.get('deps');
      const [host] = await deps.db
        .select({ id: tables.hosts.id })
        .from(tables.hosts)
        .where(eq(tables.hosts.id, body.host_id));
      if (!host) throw new ApiError(422, 'validation_failed', 'invalid body: host_id: no such host');
      // `enrol` holds one-time credentials: they go to the relay and nowhere else (not the row, not the audit detail).
      const { enrol, ...fields } = body;
      const [row] = await deps.db.insert(tables.machines).values(fields).onConflictDoNothing().returning();
      if (!row) throw conflict('machine_exists', `a machine named ${body.name} exists`);
      if (enrol) {
        // The machine joins the pool only once its relay holds a working login: a failed enrolment leaves nothing behind.
        const done = await enrolMachine(deps, row, enrol).catch(async (err: unknown) => {
          await deps.db.delete(tables.machines).where(eq(tables.machines.id, row.id));
          throw err;
        });
        await recordAudit(deps, {
          event: 'machine.create',
          status: 'success',
          actor_id: user.id,
          host_id: body.host_id,
          source_ip: clientIp(c),
          detail: { machine_id: row.id, host_key_pinned: true, enrolled: true, key_installed: done.installed },
        });
        return c.json({ machine: adminMachineJson({ ...row, host_key: done.host_key }) }, 201);
      }
      // Pin the machine's host key at enrolment (when its relay is online; else at first rental).
      const pin = await pinHostKey(deps, row);
      await recordAudit(deps, {
        event: 'machine.create',
        status: 'success',
        actor_id: user.id,
        host_id: body.host_id,
        source_ip: clientIp(c),
        detail: { machine_id: row.id, host_key_pinned: !!pin.host_key, probe: pin.reason },
      });
      return c.json(
        {
          machine: adminMachineJson({ ...row, host_key: pin.host_key }),
          ...(pin.reason ? { host_key_reason: pin.reason } : {}),
        },
        201,
      );
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/admin/machines',
      summary: 'The whole pool with LAN addresses',
      tag: 'admin',
      auth: 'admin',
      response: z.object({ items: z.array(AdminMachine) }),
    },
    async (c) => {
      const rows = await c.get('deps').db.select().from(tables.machines).orderBy(asc(tables.machines.id));
      return c.json({ items: rows.map(adminMachineJson) });
    },
  );

  endpoint(
    app,
    {
      method: 'patch',
      path: '/api/v1/admin/machines/:id',
      summary: 'Change a machine (maintenance, price, address)',
      tag: 'admin',
      auth: 'admin',
      body: UpdateMachineRequest,
      response: z.object({ machine: AdminMachine }),
    },
    async (c, { body, user, params }) => {
      const deps = c.get('deps');
      const id = Number(params.id);
      const [m] = Number.isInteger(id)
        ? await deps.db.select().from(tables.machines).where(eq(tables.machines.id, id))
        : [];
      if (!m) throw notFound('machine');
      if (body.status && m.status === 'allocated')
        throw conflict('machine_allocated', 'release the machine before changing its status');
      if ((body.target_ip || body.host_id || body.ssh_port) && m.status === 'allocated')
        throw conflict('machine_allocated', 'an allocated machine cannot move');
      const moved =
        (body.target_ip && body.target_ip !== m.target_ip) ||
        (body.ssh_port && body.ssh_port !== m.ssh_port) ||
        (body.host_id && body.host_id !== m.host_id);
      let [row] = await deps.db
        .update(tables.machines)
        .set({ ...body, ...(moved ? { host_key: null } : {}), updated_at: Date.now() })
        .where(eq(tables.machines.id, id))
        .returning();
      if (moved && row) row = { ...row, host_key: (await pinHostKey(deps, row)).host_key };
      await recordAudit(deps, {
        event: 'machine.update',
        status: 'success',
        actor_id: user.id,
        source_ip: clientIp(c),
        detail: { machine_id: id, ...body },
      });
      return c.json({ machine: adminMachineJson(row!) });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/admin/machines/:id/probe',
      summary: "Re-read and pin the machine's SSH host key (after a reinstall)",
      tag: 'admin',
      auth: 'admin',
      response: z.object({ machine: AdminMachine }),
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const id = Number(params.id);
      const [m] = Number.isInteger(id)
        ? await deps.db.select().from(tables.machines).where(eq(tables.machines.id, id))
        : [];
      if (!m) throw notFound('machine');
      const pin = await pinHostKey(deps, m);
      if (!pin.host_key) throw new ApiError(502, 'probe_failed', pin.reason ?? 'probe failed');
      await recordAudit(deps, {
        event: 'machine.pin_host_key',
        status: 'success',
        actor_id: user.id,
        host_id: m.host_id,
        source_ip: clientIp(c),
        detail: { machine_id: id },
      });
      return c.json({ machine: adminMachineJson({ ...m, host_key: pin.host_key }) });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/admin/machines/:id/enrol',
      summary:
        'Enrol with one-time credentials: the relay authorizes its platform key and pins the host key (never stored)',
      tag: 'admin',
      auth: 'admin',
      body: MachineEnrolment,
      response: z.object({ machine: AdminMachine }),
    },
    async (c, { body, user, params }) => {
      const deps = c.get('deps');
      const m = await machineOr404(c, params.id);
      if (m.status === 'allocated')
        throw conflict('machine_allocated', 'release the machine before enrolling it again');
      const done = await enrolMachine(deps, m, body);
      await recordAudit(deps, {
        event: 'machine.enrol',
        status: 'success',
        actor_id: user.id,
        host_id: m.host_id,
        source_ip: clientIp(c),
        detail: { machine_id: m.id, key_installed: done.installed },
      });
      return c.json({ machine: adminMachineJson({ ...m, host_key: done.host_key }) });
    },
  );

  endpoint(
    app,
    {
      method: 'delete',
      path: '/api/v1/admin/machines/:id',
      summary: 'Remove a machine from the pool (refused while it is rented)',
      tag: 'admin',
      auth: 'admin',
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const m = await machineOr404(c, params.id);
      // One statement: a rental that claims the machine meanwhile makes this delete a no-op, never a dangling environment.
      const gone = await deps.db
        .delete(tables.machines)
        .where(
          and(
            eq(tables.machines.id, m.id),
            ne(tables.machines.status, 'allocated'),
            notExists(
              deps.db
                .select({ id: tables.environments.id })
                .from(tables.environments)
                .where(eq(tables.environments.physical_machine_id, m.id)),
            ),
          ),
        )
        .returning({ id: tables.machines.id });
      if (!gone[0])
        throw conflict(
          'machine_rented',
          'the machine is rented: its renter must release it (or delete the environment) first',
        );
      await recordAudit(deps, {
        event: 'machine.delete',
        status: 'success',
        actor_id: user.id,
        host_id: m.host_id,
        source_ip: clientIp(c),
        detail: { machine_id: m.id, name: m.name },
      });
      return c.body(null, 204);
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/admin/images',
      summary: 'Add an image',
      tag: 'admin',
      auth: 'admin',
      body: CreateImageRequest,
      response: z.object({ image: Image }),
      status: 201,
    },
    async (c, { body }) => {
      const [row] = await c.get('deps').db.insert(tables.images).values(body).onConflictDoNothing().returning();
      if (!row) throw conflict('image_exists', `an image named ${body.name} exists`);
      return c.json({ image: imageJson(row) }, 201);
    },
  );

  for (const [path, auth] of [
    ['/api/v1/admin/images', 'admin'],
    ['/api/v1/images', 'user'],
  ] as const) {
    endpoint(
      app,
      {
        method: 'get',
        path,
        summary: "Images to create environments from (renters: the catalog, their own saved images and their teams')",
        tag: auth === 'admin' ? 'admin' : 'environments',
        auth,
        response: z.object({ items: z.array(Image) }),
      },
      async (c, { user }) => {
        const t = tables.images;
        // Renters see the catalog, their own saved images and their teams'; admins (on the admin path) see all.
        const teams = auth === 'admin' ? [] : await teamIdsOf(c.get('deps'), user.id);
        const rows = await c
          .get('deps')
          .db.select()
          .from(t)
          .where(
            auth === 'admin'
              ? undefined
              : or(isNull(t.owner_id), eq(t.owner_id, user.id), ...(teams.length ? [inArray(t.team_id, teams)] : [])),
          )
          .orderBy(asc(t.id));
        return c.json({ items: rows.map(imageJson) });
      },
    );
  }

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/admin/users',
      summary: 'All accounts',
      tag: 'admin',
      auth: 'admin',
      response: z.object({ items: z.array(User) }),
    },
    async (c) => {
      const rows = await c.get('deps').db.select().from(tables.users).orderBy(asc(tables.users.created_at));
      return c.json({ items: rows.map(userJson) });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/admin/routes/rebuild',
      summary: 'Rebuild the Redis routing cache from the database',
      tag: 'admin',
      auth: 'admin',
      response: z.object({ written: z.number() }),
    },
    async (c) => {
      return c.json(await rebuildRedis(c.get('deps')));
    },
  );
}
