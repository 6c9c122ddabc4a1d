// Admin: relays (hosts): enrol with a one-time token, list with presence, rotate the token, drain, delete.
import { CreateHostRequest, CreatedHost, Host, HostInventory, generateToken, tables } from '@remotegpu/schema';
import { asc, count, eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import { conflict, notFound } from '../errors.ts';
import { endpoint, type AppEnv, type Ctx } from '../lib/api.ts';
import { newId } from '../lib/ids.ts';
import { clientIp } from '../lib/request.ts';
import { iso, isoReq } from '../lib/time.ts';
import { sha256Hex } from '../platform/crypto.ts';
import { tunnelStub } from '../tunnel/stub.ts';

type HostRow = typeof tables.hosts.$inferSelect;
const hostJson = (h: HostRow) => {
  const inv = HostInventory.safeParse(h.inventory);
  return {
    id: h.id,
    name: h.name,
    public_ssh_host: h.public_ssh_host,
    shared_ssh_port: h.shared_ssh_port,
    status: h.status,
    offline_reason: h.status === 'offline' ? (h.offline_reason ?? null) : null,
    last_seen_at: iso(h.last_seen_at),
    inventory: inv.success ? inv.data : null,
    agent_version: h.agent_version,
    drained: h.drained,
    platform_public_key: h.platform_public_key,
    ssh_host_keys: h.ssh_host_keys ?? [],
    created_at: isoReq(h.created_at),
  };
};

function installCommand(c: Ctx, token: string): string {
  const edge = c.get('deps').config.publicUrl ?? new URL(c.req.url).origin;
  return `npx @remotegpu/relay-agent --edge ${edge} --token ${token}`;
}

async function hostOr404(c: Ctx, id: string): Promise<HostRow> {
  const [h] = await c.get('deps').db.select().from(tables.hosts).where(eq(tables.hosts.id, id));
  if (!h) throw notFound('host');
  return h;
}

export function registerHostEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/admin/hosts',
      summary: 'Enrol a relay; returns its one-time token and install command',
      tag: 'admin',
      auth: 'admin',
      body: CreateHostRequest,
      response: CreatedHost,
      status: 201,
    },
    async (c, { body, user }) => {
      const deps = c.get('deps');
      const token = generateToken('rgh');
      const id = newId('host');
      const inserted = await deps.db
        .insert(tables.hosts)
        .values({
          id,
          name: body.name,
          token_hash: await sha256Hex(token),
          public_ssh_host: body.public_ssh_host,
          shared_ssh_port: body.shared_ssh_port ?? 2222,
        })
        .onConflictDoNothing()
        .returning();
      if (!inserted[0]) throw conflict('host_exists', `a host named ${body.name} exists`);
      await recordAudit(deps, {
        event: 'host.create',
        status: 'success',
        actor_id: user.id,
        host_id: id,
        source_ip: clientIp(c),
      });
      return c.json({ host: hostJson(inserted[0]), token, install_command: installCommand(c, token) }, 201);
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/admin/hosts',
      summary: 'Relays with presence, inventory and agent version',
      tag: 'admin',
      auth: 'admin',
      response: z.object({ items: z.array(Host) }),
    },
    async (c) => {
      const rows = await c.get('deps').db.select().from(tables.hosts).orderBy(asc(tables.hosts.created_at));
      return c.json({ items: rows.map(hostJson) });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/admin/hosts/:id/rotate-token',
      summary: 'Replace the host token (the old one stops working at once)',
      tag: 'admin',
      auth: 'admin',
      response: CreatedHost,
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const host = await hostOr404(c, params.id);
      const token = generateToken('rgh');
      await deps.db
        .update(tables.hosts)
        .set({ token_hash: await sha256Hex(token) })
        .where(eq(tables.hosts.id, host.id));
      await tunnelStub(deps, host.id).kick('host token rotated');
      await recordAudit(deps, {
        event: 'host.rotate_token',
        status: 'success',
        actor_id: user.id,
        host_id: host.id,
        source_ip: clientIp(c),
      });
      return c.json({ host: hostJson(host), token, install_command: installCommand(c, token) });
    },
  );

  endpoint(
    app,
    {
      method: 'patch',
      path: '/api/v1/admin/hosts/:id',
      summary: 'Drain a relay (no new containers) or undrain it',
      tag: 'admin',
      auth: 'admin',
      body: z.object({ drained: z.boolean() }).strict(),
      response: z.object({ host: Host }),
    },
    async (c, { body, params }) => {
      const host = await hostOr404(c, params.id);
      const [row] = await c
        .get('deps')
        .db.update(tables.hosts)
        .set({ drained: body.drained })
        .where(eq(tables.hosts.id, host.id))
        .returning();
      return c.json({ host: hostJson(row!) });
    },
  );

  endpoint(
    app,
    {
      method: 'delete',
      path: '/api/v1/admin/hosts/:id',
      summary: 'Remove a relay (refused while environments or machines use it)',
      tag: 'admin',
      auth: 'admin',
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const host = await hostOr404(c, params.id);
      const [[envs], [machines]] = await Promise.all([
        deps.db.select({ n: count() }).from(tables.environments).where(eq(tables.environments.host_id, host.id)),
        deps.db.select({ n: count() }).from(tables.machines).where(eq(tables.machines.host_id, host.id)),
      ]);
      if ((envs?.n ?? 0) > 0)
        throw conflict(
          'host_in_use',
          `${envs!.n} environment(s) still live on this relay: drain it and delete them first`,
        );
      if ((machines?.n ?? 0) > 0)
        throw conflict('host_in_use', `${machines!.n} machine(s) are reached through this relay`);
      await deps.db.delete(tables.portAllocations).where(eq(tables.portAllocations.host_id, host.id));
      await deps.db.delete(tables.hosts).where(eq(tables.hosts.id, host.id));
      await tunnelStub(deps, host.id).kick('host deleted');
      await recordAudit(deps, {
        event: 'host.delete',
        status: 'success',
        actor_id: user.id,
        host_id: host.id,
        source_ip: clientIp(c),
      });
      return c.body(null, 204);
    },
  );
}
