// /audit-events (a renter's own, an admin's all), /usage (charges), and session recordings.
import { AuditEvent, Recording, TEAM_HEADER, UsageRecord, tables } from '@remotegpu/schema';
import { and, desc, eq, inArray, lt, type SQL } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { notFound } from '../errors.ts';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { iso, isoReq } from '../lib/time.ts';
import { charge } from '../usage/service.ts';
import { ownedEnv } from '../environments/access.ts';
import type { Deps } from '../deps.ts';
import { readTeam } from '../teams/service.ts';

/** The ids of a team's environments, as a subquery. */
const teamEnvIds = (deps: Deps, teamId: string) =>
  deps.db
    .select({ id: tables.environments.id })
    .from(tables.environments)
    .where(eq(tables.environments.team_id, teamId));

const AuditQuery = z
  .object({
    environment_id: z.string().max(64).optional(),
    event: z.string().max(64).optional(),
    before: z.coerce.number().int().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    all: z.enum(['true', 'false']).optional(),
  })
  .strict();

export function registerAuditEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/audit-events',
      summary:
        "Audit events: yours (admins: all with ?all=true); with ?environment_id= that environment's, for its team too; with the X-RemoteGPU-Team header those of the team's environments",
      tag: 'audit',
      auth: 'user',
      query: AuditQuery,
      response: z.object({ items: z.array(AuditEvent) }),
    },
    async (c, { query, user }) => {
      const t = tables.auditEvents;
      const where: SQL[] = [];
      // One environment's whole trail for whoever may see it (its team's members too); for anyone else (or a deleted
      // environment) only their own events, as without the filter.
      const ofEnv = query.environment_id
        ? await ownedEnv(c.get('deps'), user, query.environment_id).catch(() => null)
        : null;
      // Without one, the header's team: the events of all its environments (any member reads them).
      const team = ofEnv ? null : await readTeam(c.get('deps'), user, c.req.header(TEAM_HEADER));
      if (team) where.push(inArray(t.environment_id, teamEnvIds(c.get('deps'), team)));
      else if (!ofEnv && !(user.role === 'admin' && query.all === 'true')) where.push(eq(t.user_id, user.id));
      if (query.environment_id) where.push(eq(t.environment_id, query.environment_id));
      if (query.event) where.push(eq(t.event, query.event));
      if (query.before) where.push(lt(t.id, query.before));
      const rows = await c
        .get('deps')
        .db.select()
        .from(t)
        .where(and(...where))
        .orderBy(desc(t.id))
        .limit(query.limit);
      return c.json({
        items: rows.map((r) => ({
          id: r.id,
          timestamp: r.timestamp,
          environment_id: r.environment_id,
          type: r.type,
          event: r.event,
          source_ip: r.source_ip,
          username: r.username,
          status: r.status,
          detail: r.detail ?? null,
        })),
      });
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/usage',
      summary: "Your usage and charges (with the X-RemoteGPU-Team header: the team's environments')",
      tag: 'usage',
      auth: 'user',
      response: z.object({ items: z.array(UsageRecord), total: z.number() }),
    },
    async (c, { user }) => {
      const deps = c.get('deps');
      const u = tables.usageRecords;
      const team = await readTeam(deps, user, c.req.header(TEAM_HEADER));
      const rows = await deps.db
        .select()
        .from(u)
        .where(team ? inArray(u.environment_id, teamEnvIds(deps, team)) : eq(u.user_id, user.id))
        .orderBy(desc(tables.usageRecords.id))
        .limit(1000);
      const items = rows.map((r) => charge(r));
      return c.json({ items, total: Math.round(items.reduce((s, i) => s + i.amount, 0) * 100) / 100 });
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/environments/:id/recordings',
      summary: 'Recorded SSH sessions of an environment',
      tag: 'audit',
      auth: 'user',
      response: z.object({ items: z.array(Recording) }),
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const env = await ownedEnv(deps, user, params.id);
      const t = tables.sessionRecordings;
      const rows = await deps.db
        .select({
          id: t.id,
          environment_id: t.environment_id,
          username: t.username,
          source_ip: t.source_ip,
          started_at: t.started_at,
          ended_at: t.ended_at,
          size: t.size,
        })
        .from(t)
        .where(eq(t.environment_id, env.id))
        .orderBy(desc(t.started_at))
        .limit(500);
      return c.json({
        items: rows.map((r) => ({ ...r, started_at: isoReq(r.started_at), ended_at: iso(r.ended_at) })),
      });
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/recordings/:id',
      summary: 'Download a session recording (asciicast v2)',
      tag: 'audit',
      auth: 'user',
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const [rec] = await deps.db
        .select()
        .from(tables.sessionRecordings)
        .where(eq(tables.sessionRecordings.id, params.id));
      if (!rec) throw notFound('recording');
      // Another's recording: only of an environment of a team you are in (404 otherwise, as for the environment).
      if (rec.user_id !== user.id && user.role !== 'admin') await ownedEnv(deps, user, rec.environment_id);
      return new Response(rec.cast, {
        headers: {
          'content-type': 'application/x-asciicast',
          'content-disposition': `attachment; filename="${rec.environment_id}-${rec.started_at}.cast"`,
        },
      });
    },
  );
}
