// Team membership: the personal team of one, the caller's role in a team, and who may read or act on an environment.
import { tables, type TeamRole } from '@remotegpu/schema';
import { and, eq } from 'drizzle-orm';
import type { AuthUser } from '../auth/service.ts';
import { accountOf } from '../billing/service.ts';
import type { Deps } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import { newId } from '../lib/ids.ts';

/**
 * The user's personal team (a team of one with the user as owner), made on first use: users registered before
 * teams existed get theirs lazily. Returns its id.
 */
export async function personalTeam(deps: Deps, user: Pick<AuthUser, 'id' | 'email'>): Promise<string> {
  const t = tables.teams;
  const [row] = await deps.db.select({ id: t.id }).from(t).where(eq(t.personal_of, user.id));
  if (row) return row.id;
  const id = newId('team');
  // A concurrent first use may insert first: the unique index on personal_of decides, then we read the winner.
  await deps.db.insert(t).values({ id, name: user.email, personal_of: user.id }).onConflictDoNothing();
  const [won] = await deps.db.select({ id: t.id }).from(t).where(eq(t.personal_of, user.id));
  if (!won) throw new Error(`personal team of ${user.id} was not created`);
  await deps.db
    .insert(tables.teamMembers)
    .values({ team_id: won.id, user_id: user.id, role: 'owner' })
    .onConflictDoNothing();
  return won.id;
}

/** The user's role in a team, or null when not a member. */
export async function teamRole(deps: Deps, userId: string, teamId: string): Promise<TeamRole | null> {
  const m = tables.teamMembers;
  const [row] = await deps.db
    .select({ role: m.role })
    .from(m)
    .where(and(eq(m.team_id, teamId), eq(m.user_id, userId)));
  return row?.role ?? null;
}

/** The ids of every team the user belongs to. */
export async function teamIdsOf(deps: Deps, userId: string): Promise<string[]> {
  const m = tables.teamMembers;
  const rows = await deps.db.select({ id: m.team_id }).from(m).where(eq(m.user_id, userId));
  return rows.map((r) => r.id);
}

/** 403 `forbidden_role`: a read-only member asked to change something. */
export const forbiddenRole = () =>
  new ApiError(403, 'forbidden_role', 'your role in this team is read_only: it may read but not act');

/**
 * The team a new environment goes to when the caller names one (header `X-RemoteGPU-Team`): 404 when the caller is
 * not a member (ids reveal nothing), 403 `forbidden_role` for read-only members. Null when none is named or it is
 * the caller's personal team (the caller's own environment, as before teams).
 */
export async function teamForCreate(deps: Deps, user: AuthUser, teamId: string | undefined): Promise<string | null> {
  if (teamId === undefined || teamId === '') return null;
  const role = teamId.length <= 128 ? await teamRole(deps, user.id, teamId) : null;
  if (!role) throw notFound('team');
  if (role === 'read_only') throw forbiddenRole();
  // The personal team is the user's own account: its environments stay the user's, as before teams.
  const [t] = await deps.db
    .select({ personal_of: tables.teams.personal_of })
    .from(tables.teams)
    .where(eq(tables.teams.id, teamId));
  return t?.personal_of === user.id ? null : teamId;
}

/**
 * How the user relates to an environment: `owner` (created it, not via a team role), a team role, or null (a
 * stranger). Admins are handled by the callers.
 */
export async function envRelation(
  deps: Deps,
  user: Pick<AuthUser, 'id'>,
  env: { user_id: string; team_id: string | null },
): Promise<'creator' | TeamRole | null> {
  if (env.team_id) {
    const role = await teamRole(deps, user.id, env.team_id);
    if (role) return role;
  }
  return env.user_id === user.id ? 'creator' : null;
}

/**
 * The account a billing or webhook request is about: the team named by the `X-RemoteGPU-Team` header (any member
 * reads; read-only members may not change: 403 `forbidden_role`; non-members 404), else the caller's own account
 * (also for the caller's personal team).
 */
export async function selectedAccount(deps: Deps, user: AuthUser, teamId: string | undefined): Promise<string> {
  if (teamId === undefined || teamId === '') return accountOf(user);
  const role = teamId.length <= 128 ? await teamRole(deps, user.id, teamId) : null;
  if (!role) throw notFound('team');
  if (role === 'read_only' && user.writes) throw forbiddenRole();
  const [t] = await deps.db
    .select({ personal_of: tables.teams.personal_of })
    .from(tables.teams)
    .where(eq(tables.teams.id, teamId));
  return t?.personal_of === user.id ? accountOf(user) : teamId;
}

/**
 * The shared team a reading request names with the `X-RemoteGPU-Team` header (any role reads): its id, or null when
 * none is named or it is the caller's personal team (the caller's own things, as before teams). 404 for non-members.
 */
export async function readTeam(deps: Deps, user: AuthUser, teamId: string | undefined): Promise<string | null> {
  if (teamId === undefined || teamId === '') return null;
  const role = teamId.length <= 128 ? await teamRole(deps, user.id, teamId) : null;
  if (!role) throw notFound('team');
  const [t] = await deps.db
    .select({ personal_of: tables.teams.personal_of })
    .from(tables.teams)
    .where(eq(tables.teams.id, teamId));
  return t?.personal_of === user.id ? null : teamId;
}

/**
 * Whether the user may use a team's thing (a saved image, retained data): its creator, or a member of its team; on
 * `act`, a read-only member gets 403 `forbidden_role`. False for strangers (callers answer 404).
 */
export async function mayUse(
  deps: Deps,
  user: Pick<AuthUser, 'id'>,
  thing: { creator: string | null; team_id: string | null },
  act: boolean,
): Promise<boolean> {
  const rel = await envRelation(deps, user, { user_id: thing.creator ?? '', team_id: thing.team_id });
  if (rel === 'read_only' && act) throw forbiddenRole();
  return rel !== null;
}
