// Teams API contract: teams, members and their roles (owner, member, read_only).
import { z } from 'zod';

export const TeamRole = z.enum(['owner', 'member', 'read_only']);
export type TeamRole = z.infer<typeof TeamRole>;

export { TEAM_HEADER } from './team-header.ts';

export const CreateTeamRequest = z.strictObject({ name: z.string().trim().min(1).max(64) });

export const AddTeamMemberRequest = z.strictObject({
  email: z.string().trim().toLowerCase().email().max(254),
  role: TeamRole.default('member'),
});

export const UpdateTeamMemberRequest = z.strictObject({ role: TeamRole });

export const TeamMember = z.object({ user_id: z.string(), email: z.string(), role: TeamRole, created_at: z.string() });
export type TeamMember = z.infer<typeof TeamMember>;

/** A team as its member sees it: `role` is the caller's own; `personal` marks the caller's team of one. */
export const Team = z.object({
  id: z.string(),
  name: z.string(),
  personal: z.boolean(),
  role: TeamRole,
  created_at: z.string(),
});
export type Team = z.infer<typeof Team>;
