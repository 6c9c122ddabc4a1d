// Ownership checks and the owner's AccessInfo (the only place the password is decrypted).
import { isEnvironmentId, sshHostName, tables, type AccessInfo } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { notFound } from '../errors.ts';
import type { AuthUser } from '../auth/service.ts';
import { decryptSecret } from '../platform/crypto.ts';
import { publicAccessInfo } from '../routing/routes.ts';
import type { EnvRow } from './serialize.ts';

/** The environment if the user may see it (owner, or admin); 404 otherwise so ids reveal nothing. */
export async function ownedEnv(deps: Deps, user: AuthUser, id: string): Promise<EnvRow> {
  if (!isEnvironmentId(id)) throw notFound('environment');
  const [env] = await deps.db.select().from(tables.environments).where(eq(tables.environments.id, id));
  if (!env || (env.user_id !== user.id && user.role !== 'admin')) throw notFound('environment');
  return env;
}

/** AccessInfo with the password: the owner only (admins manage, they do not log in as renters). */
export async function accessInfo(deps: Deps, env: EnvRow): Promise<AccessInfo> {
  return { ...publicAccessInfo(deps, env), ssh_password: await decryptSecret(deps.config.secretKey, env.password_enc) };
}

export function sshHostFor(deps: Deps, envId: string, host: { public_ssh_host: string }): string {
  return deps.config.sshDomain ? sshHostName(envId, deps.config.sshDomain) : host.public_ssh_host;
}
