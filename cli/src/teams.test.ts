// `--team` / REMOTEGPU_TEAM and `remotegpu teams`: the program run in-process against a recorded fake API, as a renter
// types the commands; every request of a command for a team carries its X-RemoteGPU-Team header.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Team } from '@remotegpu/schema';
import { CommanderError } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pickTeam } from './api.ts';
import { defaultContext } from './context.ts';
import { CliError, EXIT } from './errors.ts';
import { buildProgram } from './program.ts';

const team = (id: string, name: string, role: Team['role'] = 'owner', personal = false): Team => ({
  id,
  name,
  role,
  personal,
  created_at: '2026-11-30T00:00:00.000Z',
});
const TEAMS = [
  team('team_me', 'me@x.test', 'owner', true),
  team('team_lab', 'lab'),
  team('team_ro', 'viewers', 'read_only'),
];
const env = (id: string, name: string, team_id: string | null) => ({
  id,
  name,
  team_id,
  type: 'container',
  status: 'running',
});

interface Seen {
  method: string;
  path: string;
  team: string | null;
  body: unknown;
}

let seen: Seen[];
let out: string;

/** A fake API answering the routes these commands use, recording each request and its team header. */
function fakeApi(): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    const method = init?.method ?? 'GET';
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    seen.push({ method, path: url.pathname, team: headers.get('x-remotegpu-team'), body });
    const reply = (status: number, value: unknown) =>
      new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
    if (url.pathname === '/api/v1/teams' && method === 'GET') return reply(200, { items: TEAMS });
    if (url.pathname === '/api/v1/environments')
      return reply(200, { items: [env('e1', 'mine', null), env('e2', 'shared', 'team_lab')] });
    if (url.pathname === '/api/v1/teams/team_lab') {
      const members = [{ user_id: 'u1', email: 'me@x.test', role: 'owner', created_at: '2026-11-30T00:00:00.000Z' }];
      return reply(200, { team: TEAMS[1], members });
    }
    if (url.pathname === '/api/v1/teams/team_lab/members/u1' && method === 'PATCH')
      return reply(409, { error: { code: 'last_owner', message: 'a team keeps at least one owner' } });
    if (url.pathname === '/api/v1/teams/team_lab/members' && method === 'POST')
      return reply(201, { team: TEAMS[1], members: [] });
    return reply(404, { error: { code: 'not_found', message: 'no route' } });
  }) as typeof fetch;
}

async function run(args: string[], extraEnv: Record<string, string> = {}): Promise<void> {
  const ctx = defaultContext({
    HOME: mkdtempSync(join(tmpdir(), 'cli-teams-')),
    REMOTEGPU_URL: 'http://api.test',
    REMOTEGPU_TOKEN: 'rgt_test',
    ...extraEnv,
  });
  await buildProgram(ctx).parseAsync(['node', 'remotegpu', ...args]);
}

beforeEach(() => {
  seen = [];
  out = '';
  vi.stubGlobal('fetch', fakeApi());
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('teams in the CLI', () => {
  it('picks a team by id or name; an unknown one is exit 4, an ambiguous name exit 2', () => {
    expect(pickTeam(TEAMS, 'team_lab').id).toBe('team_lab');
    expect(pickTeam(TEAMS, 'lab').id).toBe('team_lab');
    expect(() => pickTeam(TEAMS, 'nope')).toThrow(expect.objectContaining({ exitCode: EXIT.notFound }));
    const twice = [...TEAMS, team('team_lab2', 'lab')];
    expect(() => pickTeam(twice, 'lab')).toThrow(expect.objectContaining({ exitCode: EXIT.usage }));
  });

  it('--team <name> sends the team id on every request of the command and lists only its environments', async () => {
    await run(['--team', 'lab', 'ls', '--json']);
    expect(seen.map((s) => [s.path, s.team])).toEqual([
      ['/api/v1/teams', null],
      ['/api/v1/environments', 'team_lab'],
    ]);
    expect((JSON.parse(out) as { items: { id: string }[] }).items.map((e) => e.id)).toEqual(['e2']);

    // Given after the command too.
    seen = [];
    await run(['ls', '-q', '--team', 'team_lab']);
    expect(seen.at(-1)?.team).toBe('team_lab');
  });

  it('REMOTEGPU_TEAM is the twin of --team, and the flag wins over it', async () => {
    await run(['ls', '-q'], { REMOTEGPU_TEAM: 'viewers' });
    expect(seen.at(-1)).toMatchObject({ path: '/api/v1/environments', team: 'team_ro' });
    seen = [];
    await run(['--team', 'lab', 'ls', '-q'], { REMOTEGPU_TEAM: 'viewers' });
    expect(seen.at(-1)?.team).toBe('team_lab');
    seen = [];
    await run(['ls', '-q']);
    expect(seen.map((s) => s.team)).toEqual([null]);
  });

  it('an unknown team stops the command before it acts (exit 4)', async () => {
    const err = await run(['--team', 'nope', 'ls']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(err).toMatchObject({ exitCode: EXIT.notFound });
    expect(seen.map((s) => s.path)).toEqual(['/api/v1/teams']);
  });

  it('teams, teams create and teams members add/role: the team named as an argument, --team ignored', async () => {
    await run(['teams'], { REMOTEGPU_TEAM: 'a team I left' });
    expect(out).toMatch(/^ID\s+NAME\s+ROLE\s+PERSONAL\n/);
    expect(out).toContain('team_ro   viewers');
    seen = [];
    await run(['teams', 'members', 'add', 'lab', 'b@x.test', '--role', 'read_only']);
    expect(seen.at(-1)).toMatchObject({
      method: 'POST',
      path: '/api/v1/teams/team_lab/members',
      team: null,
      body: { email: 'b@x.test', role: 'read_only' },
    });
    const bad = await run(['teams', 'members', 'add', 'lab', 'b@x.test', '--role', 'boss']).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(CommanderError);
    const last = await run(['teams', 'members', 'role', 'lab', 'me@x.test', 'member']).catch((e: unknown) => e);
    expect(last).toMatchObject({ code: 'last_owner', message: 'a team keeps at least one owner' });
    out = '';
    await run(['teams', 'members', 'lab']);
    expect(out).toContain('me@x.test');
  });
});
