// API token scopes: what each endpoint needs, and whether a credential has it (sessions and unscoped tokens have all).
import type { TokenScope } from '@remotegpu/schema';
import { ApiError } from '../errors.ts';

export interface ScopedSpec {
  method: string;
  tag: string;
  auth: 'none' | 'user' | 'admin';
  /** Overrides the default below (e.g. logout needs only `read`). */
  scope?: TokenScope;
}

/** admin routes → admin; other reads → read; billing changes → billing; every other change → environments. */
export function requiredScope(spec: ScopedSpec): TokenScope {
  if (spec.scope) return spec.scope;
  if (spec.auth === 'admin') return 'admin';
  if (spec.method === 'get') return 'read';
  return spec.tag === 'billing' ? 'billing' : 'environments';
}

/** Whether scopes (null = unrestricted) grant `needed`; any scope implies read. */
function grants(scopes: readonly TokenScope[] | null, needed: TokenScope): boolean {
  if (scopes === null) return true;
  return scopes.includes(needed) || (needed === 'read' && scopes.length > 0);
}

/** 403 `insufficient_scope` when the caller's token lacks what the endpoint needs. */
export function checkScope(scopes: readonly TokenScope[] | null, spec: ScopedSpec): void {
  const needed = requiredScope(spec);
  if (!grants(scopes, needed))
    throw new ApiError(403, 'insufficient_scope', `this API token lacks the "${needed}" scope this request needs`);
}

/**
 * The scopes a new token gets: what was asked (default: everything the creator has), refused with 403
 * `scope_not_allowed` when beyond the creator (admin for non-admins, or more than the creating token has).
 */
export function scopesForNewToken(
  creator: { role: 'user' | 'admin'; scopes: readonly TokenScope[] | null },
  asked: readonly TokenScope[] | undefined,
): TokenScope[] | null {
  if (!asked) return creator.scopes === null ? null : [...creator.scopes];
  const wanted = [...new Set(asked)];
  for (const s of wanted) {
    if (s === 'admin' && creator.role !== 'admin')
      throw new ApiError(403, 'scope_not_allowed', 'only administrators can make tokens with the admin scope');
    if (creator.scopes !== null && !creator.scopes.includes(s) && !(s === 'read' && creator.scopes.length > 0))
      throw new ApiError(403, 'scope_not_allowed', `the token making this request has no "${s}" scope to give`);
  }
  return wanted;
}
