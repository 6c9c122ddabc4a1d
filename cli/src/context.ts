// What every command gets: the CLI's paths, the stored login and an API client for it (acting for the chosen team).
import { type ApiClient, loggedIn } from './api.ts';
import { type Paths, paths, readCredentials } from './config.ts';

export interface Context {
  paths: Paths;
  /** The logged-in client, acting for `team` unless `own` (the user's own account). */
  api(o?: { own?: boolean }): ApiClient;
  /** The global `--team` option, set before a command runs (REMOTEGPU_TEAM when not given). */
  team?: string;
}

export function defaultContext(env: NodeJS.ProcessEnv = process.env): Context {
  const p = paths(env);
  const ctx: Context = { paths: p, api: (o) => loggedIn(readCredentials(p), env, o?.own ? null : ctx.team) };
  return ctx;
}
