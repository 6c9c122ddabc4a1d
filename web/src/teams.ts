// The team the console acts for: the user's teams (GET /teams), the selected one (localStorage, null = personal) and
// the header the API client sends for it. A selection whose team is gone (removed, another user) is dropped on load.
import { computed, reactive } from 'vue';
import { api, setRequestTeam } from './api/client.ts';
import type { Team, TeamRole } from './api/types.ts';

const TEAM_KEY = 'remotegpu.team';

function saved(): string | null {
  return typeof localStorage === 'undefined' ? null : localStorage.getItem(TEAM_KEY) || null;
}

export const teams = reactive<{ items: Team[]; current: string | null; loaded: boolean }>({
  items: [],
  current: saved(),
  loaded: false,
});
// Requests made before the list arrives already act for the remembered team; loadTeams checks it still exists.
setRequestTeam(teams.current);

/** Selects a team (null or the personal team: the user's own account) and remembers it. */
export function selectTeam(id: string | null): void {
  const team = teams.items.find((t) => t.id === id);
  const chosen = team && !team.personal ? team.id : null;
  teams.current = chosen;
  setRequestTeam(chosen);
  if (chosen) localStorage.setItem(TEAM_KEY, chosen);
  else localStorage.removeItem(TEAM_KEY);
}

/** Loads the user's teams (personal first) and keeps the selection only if it is still one of them. */
export async function loadTeams(): Promise<Team[]> {
  // The list is the user's whatever team is selected (the header does not matter to it). Not answered: the remembered
  // team stays rather than be dropped for a passing failure.
  teams.items = (await api<{ items: Team[] }>('/teams')).items;
  teams.loaded = true;
  selectTeam(teams.current);
  return teams.items;
}

/** Forgets the teams and the selection (at logout: the next user starts on their own account). */
export function clearTeams(): void {
  teams.items = [];
  teams.loaded = false;
  teams.current = null;
  setRequestTeam(null);
  localStorage.removeItem(TEAM_KEY);
}

/** The selected shared team, or null for the personal account. */
export const currentTeam = computed(() => teams.items.find((t) => t.id === teams.current) ?? null);

/** The user's role in a team, or null when not a member (or no team). */
export function roleIn(teamId: string | null | undefined): TeamRole | null {
  return teams.items.find((t) => t.id === teamId)?.role ?? null;
}

/** True when the selected team is one the user may only read: its write buttons are disabled. */
export const readOnly = computed(() => currentTeam.value?.role === 'read_only');
