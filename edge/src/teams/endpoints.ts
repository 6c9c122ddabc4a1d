// /teams: make a team, list yours, and (owners) add, re-role and remove members. Every user also has a personal team.
import {
  AddTeamMemberRequest,
  CreateTeamRequest,
  Team,
  TeamMember,
  UpdateTeamMemberRequest,
  tables,
  type TeamRole,
} from '@remotegpu/schema';
import { and, eq, inArray } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import type { AuthUser } from '../auth/service.ts';
import type { Deps } from '../deps.ts';
import { ApiError, conflict, notFound } from '../errors.ts';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { newId } from '../lib/ids.ts';
import { clientIp } from '../lib/request.ts';
import { isoReq } from '../lib/time.ts';
import { SERVED_STATUSES } from '../routing/relay-routes.ts';
import { publishRoute } from '../routing/sync.ts';
import { personalTeam, teamRole } from './service.ts';

const TeamResponse = z.object({ team: Team, members: z.array(TeamMember) });

/** 404 unless the caller is a member; 403 `forbidden_role` unless an owner. */
async function ownedTeam(deps: Deps, user: AuthUser, teamId: string): Promise<void> {
  const role = await teamRole(deps, user.id, teamId);
  if (!role) throw notFound('team');
  if (role !== 'owner') throw new ApiError(403, 'forbidden_role', 'only an owner of this team manages its members');
}

async function members(deps: Deps, teamId: string) {
  const m = tables.teamMembers;
  const rows = await deps.db
    .select({ user_id: m.user_id, email: tables.users.email, role: m.role, created_at: m.created_at })
    .from(m)
    .innerJoin(tables.users, eq(tables.users.id, m.user_id))
    .where(eq(m.team_id, teamId))
    .orderBy(m.created_at);
  return rows.map((r) => ({ ...r, created_at: isoReq(r.created_at) }));
}

async function teamJson(deps: Deps, user: AuthUser, teamId: string) {
  const [t] = await deps.db.select().from(tables.teams).where(eq(tables.teams.id, teamId));
  if (!t) throw notFound('team');
  const role = (await teamRole(deps, user.id, teamId)) ?? 'read_only';
  return {
    team: { id: t.id, name: t.name, personal: t.personal_of === user.id, role, created_at: isoReq(t.created_at) },
    members: await members(deps, teamId),
  };
}

/** Pushes the routes of the team's served environments: who may log in with a key changed. */
async function republishTeam(deps: Deps, teamId: string): Promise<void> {
  const e = tables.environments;
  const envs = await deps.db
    .select()
    .from(e)
    .where(and(eq(e.team_id, teamId), inArray(e.status, [...SERVED_STATUSES])));
  for (const env of envs) await publishRoute(deps, env);
}

/** Refuses a change that would leave a team without an owner (409 `last_owner`). */
async function keepAnOwner(deps: Deps, teamId: string, userId: string, newRole: TeamRole | null): Promise<void> {
  if (newRole === 'owner') return;
  const m = tables.teamMembers;
  const owners = await deps.db
    .select({ user_id: m.user_id })
    .from(m)
    .where(and(eq(m.team_id, teamId), eq(m.role, 'owner')));
  if (owners.length === 1 && owners[0]!.user_id === userId)
    throw conflict('last_owner', 'a team keeps at least one owner: make someone else owner first');
}

export function registerTeamEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/teams',
      summary: 'Your teams (your personal team of one first) with your role in each',
      tag: 'teams',
      auth: 'user',
      response: z.object({ items: z.array(Team) }),
    },
    async (c, { user }) => {
      const deps = c.get('deps');
      await personalTeam(deps, user);
      const t = tables.teams;
      const m = tables.teamMembers;
      const rows = await deps.db
        .select({ t, role: m.role })
        .from(m)
        .innerJoin(t, eq(t.id, m.team_id))
        .where(eq(m.user_id, user.id))
        .orderBy(t.created_at);
      const items = rows.map((r) => ({
        id: r.t.id,
        name: r.t.name,
        personal: r.t.personal_of === user.id,
        role: r.role,
        created_at: isoReq(r.t.created_at),
      }));
      items.sort((a, b) => Number(b.personal) - Number(a.personal));
      return c.json({ items });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/teams',
      summary: 'Create a team; you are its owner',
      tag: 'teams',
      auth: 'user',
      body: CreateTeamRequest,
      response: TeamResponse,
      status: 201,
    },
    async (c, { user, body }) => {
      const deps = c.get('deps');
      const id = newId('team');
      await deps.db.batch([
        deps.db.insert(tables.teams).values({ id, name: body.name }),
        deps.db.insert(tables.teamMembers).values({ team_id: id, user_id: user.id, role: 'owner' }),
      ]);
      await recordAudit(deps, {
        event: 'team.create',
        status: 'success',
        user_id: user.id,
        actor_id: user.id,
        source_ip: clientIp(c),
        detail: { team_id: id },
      });
      return c.json(await teamJson(deps, user, id), 201);
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/teams/:id',
      summary: 'A team you belong to, with its members',
      tag: 'teams',
      auth: 'user',
      response: TeamResponse,
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      if (!(await teamRole(deps, user.id, params.id))) throw notFound('team');
      return c.json(await teamJson(deps, user, params.id));
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/teams/:id/members',
      summary: 'Add a registered user to the team by email (owners only)',
      tag: 'teams',
      auth: 'user',
      body: AddTeamMemberRequest,
      response: TeamResponse,
      status: 201,
    },
    async (c, { user, params, body }) => {
      const deps = c.get('deps');
      await ownedTeam(deps, user, params.id);
      const [team] = await deps.db.select().from(tables.teams).where(eq(tables.teams.id, params.id));
      if (team?.personal_of) throw conflict('personal_team', 'a personal team has one member: create a team to share');
      const [target] = await deps.db
        .select({ id: tables.users.id })
        .from(tables.users)
        .where(eq(tables.users.email, body.email));
      if (!target) throw new ApiError(422, 'validation_failed', `invalid body: email: no user ${body.email}`);
      const added = await deps.db
        .insert(tables.teamMembers)
        .values({ team_id: params.id, user_id: target.id, role: body.role })
        .onConflictDoNothing()
        .returning();
      if (!added.length) throw conflict('already_member', `${body.email} is already a member of this team`);
      await recordAudit(deps, {
        event: 'team.member.add',
        status: 'success',
        user_id: target.id,
        actor_id: user.id,
        source_ip: clientIp(c),
        detail: { team_id: params.id, role: body.role },
      });
      await republishTeam(deps, params.id);
      return c.json(await teamJson(deps, user, params.id), 201);
    },
  );

  endpoint(
    app,
    {
      method: 'patch',
      path: '/api/v1/teams/:id/members/:user_id',
      summary: "Change a member's role (owners only; a team keeps one owner)",
      tag: 'teams',
      auth: 'user',
      body: UpdateTeamMemberRequest,
      response: TeamResponse,
    },
    async (c, { user, params, body }) => {
      const deps = c.get('deps');
      await ownedTeam(deps, user, params.id);
      if (!(await teamRole(deps, params.user_id, params.id))) throw notFound('member');
      await keepAnOwner(deps, params.id, params.user_id, body.role);
      const m = tables.teamMembers;
      await deps.db
        .update(m)
        .set({ role: body.role })
        .where(and(eq(m.team_id, params.id), eq(m.user_id, params.user_id)));
      await republishTeam(deps, params.id);
      return c.json(await teamJson(deps, user, params.id));
    },
  );

  endpoint(
    app,
    {
      method: 'delete',
      path: '/api/v1/teams/:id/members/:user_id',
      summary: 'Remove a member (owners only; a team keeps one owner). Their environments in the team stay the team’s',
      tag: 'teams',
      auth: 'user',
      status: 204,
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      await ownedTeam(deps, user, params.id);
      if (!(await teamRole(deps, params.user_id, params.id))) throw notFound('member');
      await keepAnOwner(deps, params.id, params.user_id, null);
      const m = tables.teamMembers;
      await deps.db.delete(m).where(and(eq(m.team_id, params.id), eq(m.user_id, params.user_id)));
      await recordAudit(deps, {
        event: 'team.member.remove',
        status: 'success',
        user_id: params.user_id,
        actor_id: user.id,
        source_ip: clientIp(c),
        detail: { team_id: params.id },
      });
      await republishTeam(deps, params.id);
      return c.body(null, 204);
    },
  );
}
