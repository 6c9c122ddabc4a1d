// The signed-in user, shared by the router guard and the layout (a tiny reactive store, no Pinia needed).
import { reactive } from 'vue';
import { ApiError, api } from './api/client.ts';
import type { User } from './api/types.ts';
import { clearTeams, loadTeams } from './teams.ts';

export const session = reactive<{ user: User | null; checked: boolean }>({ user: null, checked: false });

/** Asks the edge who we are (the HttpOnly cookie is invisible to scripts). */
export async function loadSession(): Promise<User | null> {
  try {
    session.user = (await api<{ user: User }>('/me')).user;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    session.user = null;
  }
  session.checked = true;
  return session.user;
}

export async function logIn(path: '/auth/login' | '/auth/register', email: string, password: string): Promise<User> {
  const res = await api<{ user: User }>(path, { body: { email, password } });
  session.user = res.user;
  session.checked = true;
  // Another user may have used this browser: their team selection goes, this user's teams are loaded.
  clearTeams();
  await loadTeams().catch(() => undefined);
  return res.user;
}

export async function logOut(): Promise<void> {
  await api('/auth/logout', { method: 'POST' }).catch(() => undefined);
  session.user = null;
  clearTeams();
}
