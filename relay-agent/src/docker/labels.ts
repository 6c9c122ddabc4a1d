// Docker names and labels the agent owns: container and network naming, and the label keys it filters on.
import { createHash } from 'node:crypto';

export const LABEL = {
  env: 'remotegpu.env',
  owner: 'remotegpu.owner',
  request: 'remotegpu.request',
  managed: 'remotegpu.managed',
} as const;

/**
 * The relay's identity on a Docker engine (from its platform key): several relays may share one engine
 * (tests, a gateway next to a GPU agent) and each must only ever see and reconcile its own containers.
 */
export function relayIdOf(platformPublicKey: string): string {
  return createHash('sha256').update(platformPublicKey).digest('hex').slice(0, 16);
}

/** Label filters that select this relay's environment containers. */
export function ownFilters(relayId: string | undefined, extra: string[] = []): string[] {
  return [LABEL.env, ...(relayId ? [`${LABEL.managed}=${relayId}`] : []), ...extra];
}

/** One container per environment: Docker's unique names turn a racing second create into a 409. */
export function containerName(environmentId: string): string {
  return `remotegpu-${environmentId}`;
}

/** `remotegpu-u-<owner>`; owners whose id is not a valid Docker name part get a hashed suffix. */
export function ownerNetworkName(ownerId: string): string {
  const clean = ownerId
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '-')
    .slice(0, 40);
  if (clean === ownerId && clean.length > 0) return `remotegpu-u-${clean}`;
  const hash = createHash('sha256').update(ownerId).digest('hex').slice(0, 12);
  return `remotegpu-u-${clean || 'x'}-${hash}`;
}
