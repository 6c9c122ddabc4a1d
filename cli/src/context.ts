// What every command gets: the CLI's paths, the stored login and an API client for it.
import { type ApiClient, loggedIn } from './api.ts';
import { type Paths, paths, readCredentials } from './config.ts';

export interface Context {
  paths: Paths;
  api(): ApiClient;
}

export function defaultContext(env: NodeJS.ProcessEnv = process.env): Context {
  const p = paths(env);
  return { paths: p, api: () => loggedIn(readCredentials(p), env) };
}
