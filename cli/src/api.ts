// The API client: JSON over fetch with the stored token (and the selected team's header), typed with schema's API types;
// every failure a CliError.
import type { Team } from '@remotegpu/schema';
import { TEAM_HEADER } from '@remotegpu/schema/team-header';
import type { Credentials } from './config.ts';
import { CliError, EXIT, apiError } from './errors.ts';
import { t } from './i18n.ts';

export interface ApiClient {
  readonly url: string;
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** The id of the team requests act for (`--team` / REMOTEGPU_TEAM), or null for the user's own account. */
  team(): Promise<string | null>;
}

/**
 * A client for `url` with `token`. `team`: the team it acts for, by id or name (`X-RemoteGPU-Team` on every request),
 * resolved with GET /teams on first use: exit 4 when the user has no such team, 2 when a name is ambiguous.
 */
export function apiClient(
  url: string,
  token: string | null,
  fetchImpl: typeof fetch = fetch,
  team?: string,
): ApiClient {
  async function send<T>(method: string, path: string, body: unknown, extra: Record<string, string>): Promise<T> {
    let res: Response;
    try {
      res = await fetchImpl(`${url}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...extra,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CliError(t('err.unreachable', { url, reason }), EXIT.network, 'unreachable');
    }
    const text = await res.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (!res.ok) throw apiError(res.status, parsed);
    return parsed as T;
  }
  let teamId: Promise<string | null> | undefined;
  const resolveTeam = (): Promise<string | null> => {
    teamId ??= team
      ? send<{ items: Team[] }>('GET', '/api/v1/teams', undefined, {}).then(({ items }) => pickTeam(items, team).id)
      : Promise.resolve(null);
    return teamId;
  };
  return {
    url,
    team: resolveTeam,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const id = await resolveTeam();
      return send<T>(method, path, body, id ? { [TEAM_HEADER]: id } : {});
    },
  };
}

/** One of the user's teams by id or name: 4 when none, 2 when a name is ambiguous. */
export function pickTeam(items: Team[], ref: string): Team {
  const byId = items.find((x) => x.id === ref);
  if (byId) return byId;
  const byName = items.filter((x) => x.name === ref);
  if (byName.length > 1) throw new CliError(t('err.teamAmbiguous', { team: ref, count: byName.length }), EXIT.usage);
  if (!byName[0]) throw new CliError(t('err.teamNotFound', { team: ref }), EXIT.notFound, 'not_found');
  return byName[0];
}

/**
 * The client for the stored login (REMOTEGPU_TOKEN / REMOTEGPU_URL win over the file), acting for `team` (the
 * `--team` flag), else REMOTEGPU_TEAM when `team` is undefined; null: the user's own account.
 */
export function loggedIn(
  creds: Credentials | null,
  env: NodeJS.ProcessEnv = process.env,
  team?: string | null,
): ApiClient {
  const token = env.REMOTEGPU_TOKEN || creds?.token;
  const url = env.REMOTEGPU_URL || creds?.url;
  if (!token || !url) throw new CliError(t('err.notLoggedIn'), EXIT.auth, 'not_logged_in');
  const chosen = team === null ? undefined : team || env.REMOTEGPU_TEAM || undefined;
  return apiClient(url, token, fetch, chosen);
}
