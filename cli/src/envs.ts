// Environments addressed by id or name, and their SSH host alias `rg-<name>` (unique among the renter's environments).
import type { Environment, OwnerAccessInfo } from '@remotegpu/schema';
import type { ApiClient } from './api.ts';
import { DEFAULTS } from './config.ts';
import { CliError, EXIT } from './errors.ts';
import { t } from './i18n.ts';

export async function listEnvironments(api: ApiClient): Promise<Environment[]> {
  return (await api.call<{ items: Environment[] }>('GET', '/api/v1/environments')).items;
}

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 48);
}

/** `rg-<name>`; the id instead when the name has no usable character or another environment has the same slug. */
export function hostAlias(env: Pick<Environment, 'id' | 'name'>, all: Pick<Environment, 'id' | 'name'>[]): string {
  const s = slug(env.name);
  const clash = all.some((o) => o.id !== env.id && slug(o.name) === s);
  return `${DEFAULTS.aliasPrefix}${s && !clash ? s : env.id}`;
}

/** Finds one environment by id, name or host alias; 4 when none, 2 when a name is ambiguous. */
export function pickEnvironment(all: Environment[], ref: string): Environment {
  const byId = all.find((e) => e.id === ref);
  if (byId) return byId;
  const byName = all.filter((e) => e.name === ref);
  if (byName.length > 1) throw new CliError(t('err.envAmbiguous', { env: ref, count: byName.length }), EXIT.usage);
  if (byName[0]) return byName[0];
  const byAlias = all.find((e) => hostAlias(e, all) === ref);
  if (byAlias) return byAlias;
  throw new CliError(t('err.envNotFound', { env: ref }), EXIT.notFound, 'not_found');
}

export async function resolveEnvironment(api: ApiClient, ref: string): Promise<{ env: Environment; alias: string }> {
  const all = await listEnvironments(api);
  const env = pickEnvironment(all, ref);
  return { env, alias: hostAlias(env, all) };
}

export function access(api: ApiClient, env: Environment): Promise<OwnerAccessInfo> {
  return api.call<OwnerAccessInfo>('GET', `/api/v1/environments/${env.id}/access`);
}

/**
 * Waits while an environment is `creating` (the API answers 202 when the relay is still pulling a big image); a
 * `failed` one is an error with the relay's reason.
 */
export async function waitCreated(
  api: ApiClient,
  env: Environment,
  o: { timeoutMs: number; intervalMs: number; sleep?: (ms: number) => Promise<void> },
): Promise<Environment> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const end = Date.now() + o.timeoutMs;
  let current = env;
  while (current.status === 'creating' && Date.now() < end) {
    await sleep(o.intervalMs);
    current = (await api.call<{ environment: Environment }>('GET', `/api/v1/environments/${env.id}`)).environment;
  }
  if (current.status === 'failed')
    throw new CliError(t('err.createFailed', { env: current.name, reason: current.status_reason ?? '' }), EXIT.other);
  return current;
}
