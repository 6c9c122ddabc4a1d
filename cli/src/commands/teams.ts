// teams: list yours, create one, and its members (list; owners add by email, change a role, remove).
import type { Team, TeamMember, TeamRole } from '@remotegpu/schema';
import { type Command, InvalidArgumentError } from 'commander';
import { type ApiClient, pickTeam } from '../api.ts';
import type { Context } from '../context.ts';
import { CliError, EXIT } from '../errors.ts';
import { t } from '../i18n.ts';
import { printJson, printTable } from '../output.ts';

const ROLES: readonly TeamRole[] = ['owner', 'member', 'read_only'];
type TeamBody = { team: Team; members: TeamMember[] };

function role(raw: string): TeamRole {
  if (!(ROLES as readonly string[]).includes(raw)) throw new InvalidArgumentError(`one of ${ROLES.join(', ')}`);
  return raw as TeamRole;
}

async function teamId(api: ApiClient, ref: string): Promise<string> {
  const { items } = await api.call<{ items: Team[] }>('GET', '/api/v1/teams');
  return pickTeam(items, ref).id;
}

function printMembers(body: TeamBody, json: boolean | undefined): void {
  if (json) {
    printJson(body);
    return;
  }
  printTable(
    ['USER_ID', 'EMAIL', 'ROLE', 'JOINED'],
    body.members.map((m) => [m.user_id, m.email, m.role, m.created_at]),
  );
}

export function registerTeamCommands(program: Command, ctx: Context): void {
  const teams = program.command('teams').summary(t('cmd.teams')).description(t('cmd.teams'));
  // These commands name their team as an argument: --team / REMOTEGPU_TEAM (maybe a team one has left) play no part.
  const api = () => ctx.api({ own: true });

  teams
    .command('ls', { isDefault: true })
    .summary(t('cmd.teamsLs'))
    .description(t('cmd.teamsLs'))
    .option('--json', t('opt.json'))
    .action(async (o: { json?: boolean }) => {
      const r = await api().call<{ items: Team[] }>('GET', '/api/v1/teams');
      if (o.json) return printJson(r);
      printTable(
        ['ID', 'NAME', 'ROLE', 'PERSONAL'],
        r.items.map((x) => [x.id, x.name, x.role, x.personal ? 'yes' : '']),
      );
    });

  teams
    .command('create')
    .summary(t('cmd.teamsCreate'))
    .description(t('cmd.teamsCreate'))
    .argument('<name>', 'the team name (1-64 characters)')
    .option('--json', t('opt.json'))
    .action(async (name: string, o: { json?: boolean }) => {
      const r = await api().call<TeamBody>('POST', '/api/v1/teams', { name });
      if (o.json) return printJson(r);
      process.stdout.write(`${r.team.id}  ${r.team.name}\n`);
    });

  const members = teams.command('members').summary(t('cmd.members')).description(t('cmd.members'));

  members
    .command('ls', { isDefault: true })
    .summary(t('cmd.members'))
    .description(t('cmd.members'))
    .argument('<team>', 'team id or name')
    .option('--json', t('opt.json'))
    .action(async (ref: string, o: { json?: boolean }) => {
      const c = api();
      printMembers(await c.call<TeamBody>('GET', `/api/v1/teams/${await teamId(c, ref)}`), o.json);
    });

  members
    .command('add')
    .summary(t('cmd.membersAdd'))
    .description(t('cmd.membersAdd'))
    .argument('<team>', 'team id or name')
    .argument('<email>', 'the email of a registered user')
    .option('--role <role>', `${ROLES.join(', ')}`, role, 'member' as TeamRole)
    .option('--json', t('opt.json'))
    .action(async (ref: string, email: string, o: { role: TeamRole; json?: boolean }) => {
      const c = api();
      const id = await teamId(c, ref);
      printMembers(await c.call<TeamBody>('POST', `/api/v1/teams/${id}/members`, { email, role: o.role }), o.json);
    });

  const byEmail = async (c: ApiClient, ref: string, email: string) => {
    const id = await teamId(c, ref);
    const body = await c.call<TeamBody>('GET', `/api/v1/teams/${id}`);
    const m = body.members.find((x) => x.email === email.trim().toLowerCase() || x.user_id === email);
    if (!m) throw new CliError(t('err.memberNotFound', { email, team: ref }), EXIT.notFound, 'not_found');
    return { id, member: m };
  };

  members
    .command('role')
    .summary(t('cmd.membersRole'))
    .description(t('cmd.membersRole'))
    .argument('<team>', 'team id or name')
    .argument('<email>', "the member's email")
    .argument('<role>', ROLES.join(', '), role)
    .option('--json', t('opt.json'))
    .action(async (ref: string, email: string, r: TeamRole, o: { json?: boolean }) => {
      const c = api();
      const { id, member } = await byEmail(c, ref, email);
      printMembers(
        await c.call<TeamBody>('PATCH', `/api/v1/teams/${id}/members/${member.user_id}`, { role: r }),
        o.json,
      );
    });

  members
    .command('rm')
    .summary(t('cmd.membersRm'))
    .description(t('cmd.membersRm'))
    .argument('<team>', 'team id or name')
    .argument('<email>', "the member's email")
    .action(async (ref: string, email: string) => {
      const c = api();
      const { id, member } = await byEmail(c, ref, email);
      await c.call('DELETE', `/api/v1/teams/${id}/members/${member.user_id}`);
      process.stdout.write(`${member.email}\n`);
    });
}
