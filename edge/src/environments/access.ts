// Ownership checks and the owner's AccessInfo (the only place the password is decrypted).
import { isEnvironmentId, sshHostName, tables, type AccessInfo } from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { forbidden, notFound } from '../errors.ts';
import { envRelation, forbiddenRole } from '../teams/service.ts';
import type { AuthUser } from '../auth/service.ts';
import { decryptSecret } from '../platform/crypto.ts';
import { publicAccessInfo } from '../routing/relay-routes.ts';
import type { EnvRow } from './serialize.ts';

/**
 * The environment if the user may see it (its creator, a member of its team, or an admin); 404 otherwise so ids
 * reveal nothing. On a changing request (`user.writes`) a read-only team member gets 403 `forbidden_role`.
 */
export async function ownedEnv(deps: Deps, user: AuthUser, id: string): Promise<EnvRow> {
  if (!isEnvironmentId(id)) throw notFound('environment');
  const [env] = await deps.db.select().from(tables.environments).where(eq(tables.environments.id, id));
  if (!env) throw notFound('environment');
  const rel = await envRelation(deps, user, env);
  if (rel === null && user.role !== 'admin') throw notFound('environment');
  if (rel === 'read_only' && user.writes) throw forbiddenRole();
  return env;
}

/**
 * The environment if the user may operate inside it (log in, terminal, files, apps, save, clone): its creator or a
 * team owner/member. 404 for strangers; 403 `forbidden` (with `what`) for admins, who manage but do not log in as
 * renters; 403 `forbidden_role` for read-only members.
 */
export async function operatedEnv(deps: Deps, user: AuthUser, id: string, what: string): Promise<EnvRow> {
  const env = await ownedEnv(deps, user, id);
  const rel = await envRelation(deps, user, env);
  if (rel === 'read_only') throw forbiddenRole();
  if (rel === null) throw forbidden(what);
  return env;
}

/** AccessInfo with the password: the owner only (admins manage, they do not log in as renters). */
export async function accessInfo(deps: Deps, env: EnvRow): Promise<AccessInfo> {
  return { ...publicAccessInfo(deps, env), ssh_password: await decryptSecret(deps.config.secretKey, env.password_enc) };
}

export function sshHostFor(deps: Deps, envId: string, host: { public_ssh_host: string }): string {
  return deps.config.sshDomain ? sshHostName(envId, deps.config.sshDomain) : host.public_ssh_host;
}
