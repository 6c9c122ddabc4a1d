// The edge's configuration, read from bindings once per isolate and validated.
import { readBillingConfig, type BillingConfig } from './billing/config.ts';
import { HEARTBEAT_MS } from '@remotegpu/schema';
import type { Bindings } from './env.ts';

export interface EdgeConfig {
  /** The platform's domain (REMOTEGPU_DOMAIN). */
  domain: string;
  /**
   * Apps live at `<envid>-<port>.<appsDomain>` (REMOTEGPU_APPS_DOMAIN, default `container.<domain>`). Apps run
   * renters' code: on a registrable domain of its own (e.g. `gpu-apps.net`) they are cross-site with the console.
   */
  appsDomain: string;
  /** When set, SSH names are `<envid>.ssh.<sshDomain>` (operator runs DNS); else the relay's public host. */
  sshDomain: string | null;
  /**
   * Cloudflare DNS for the SSH names: one record `<envid>.ssh.<sshDomain>` per environment, kept by `dns/sync.ts`.
   * null = not managed here (no SSH domain, or the operator points the names some other way, e.g. one relay's wildcard).
   */
  sshDns: SshDnsConfig | null;
  publicUrl: string | null;
  allowRegister: boolean;
  secretKey: string;
  adminEmail: string | null;
  adminPassword: string | null;
  commandTimeoutMs: number;
  /** CPU cores a relay may hand out per physical core (1 = no overcommit). */
  cpuOvercommit: number;
  /**
   * How the scheduler chooses among hosts that fit (REMOTEGPU_PLACEMENT_POLICY): `pack` (default) fills the
   * fullest host first, keeping whole hosts free for big jobs; `spread` takes the emptiest, spreading load.
   */
  placementPolicy: 'pack' | 'spread';
  /** Operator-wide cap on the wait for an app's first response byte (504 after it); null = none, only owners' per-port caps. */
  appFirstByteMs: number | null;
  /**
   * How often an isolate checks that the routing cache (Redis) still holds its routes and rebuilds it from the
   * database when it lost them (REMOTEGPU_CACHE_CHECK_MS, default 30 s; the fault tests shorten it).
   */
  cacheCheckMs: number;
  /**
   * The relays' heartbeat period, sent in the welcome (REMOTEGPU_HEARTBEAT_MS, default the protocol's 20 s); three
   * silent periods mean a relay is gone. The fault tests shorten it to see a cut-off relay within seconds.
   */
  heartbeatMs: number;
  /**
   * An environment still `creating` this long after its last change (and with no image pull reported in the last
   * 10 minutes) failed: the edge or its relay restarted mid-create (REMOTEGPU_CREATE_DEADLINE_MS, default 30 min).
   */
  createDeadlineMs: number;
  /** Money: currency, balance guards, webhooks (billing/config.ts). */
  billing: BillingConfig;
}

export interface SshDnsConfig {
  /** The Cloudflare zone holding `ssh.<sshDomain>` (REMOTEGPU_CF_ZONE_ID, a secret). */
  zoneId: string;
  /** An API token with Zone.DNS:Edit on that zone only (REMOTEGPU_CF_API_TOKEN, a secret). */
  apiToken: string;
  /** The API's base URL (REMOTEGPU_CF_API_BASE; default Cloudflare's `https://api.cloudflare.com/client/v4`). */
  apiBase: string | null;
}

/** One or more DNS labels (letters, digits, hyphens), no trailing dot. */
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function readConfig(env: Bindings): EdgeConfig {
  const secretKey = env.REMOTEGPU_SECRET_KEY ?? '';
  if (secretKey.length < 32) throw new ConfigError('REMOTEGPU_SECRET_KEY must be set to at least 32 characters');
  if (!env.LIBSQL_URL) throw new ConfigError('LIBSQL_URL is not set');
  if (!env.UPSTASH_REDIS_REST_URL || !env.UPSTASH_REDIS_REST_TOKEN) {
    throw new ConfigError('UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set');
  }
  const timeout = Number(env.REMOTEGPU_COMMAND_TIMEOUT_MS ?? 60_000);
  if (!Number.isFinite(timeout) || timeout < 100) throw new ConfigError('REMOTEGPU_COMMAND_TIMEOUT_MS must be >= 100');
  const overcommit = Number(env.REMOTEGPU_CPU_OVERCOMMIT ?? 1);
  if (!Number.isFinite(overcommit) || overcommit < 1 || overcommit > 64)
    throw new ConfigError('REMOTEGPU_CPU_OVERCOMMIT must be 1-64');
  const policy = (env.REMOTEGPU_PLACEMENT_POLICY ?? 'pack').trim().toLowerCase();
  if (policy !== 'pack' && policy !== 'spread')
    throw new ConfigError(`REMOTEGPU_PLACEMENT_POLICY must be pack or spread, got "${policy}"`);
  const firstByteRaw = env.REMOTEGPU_APP_FIRST_BYTE_MS?.trim() ?? '';
  const firstByte = firstByteRaw === '' ? null : Number(firstByteRaw);
  if (firstByte !== null && (!Number.isInteger(firstByte) || firstByte < 1000)) {
    throw new ConfigError(
      'REMOTEGPU_APP_FIRST_BYTE_MS must be an integer >= 1000 (milliseconds), or unset for no operator-wide cap',
    );
  }
  const cacheCheckMs = Number(env.REMOTEGPU_CACHE_CHECK_MS ?? 30_000);
  if (!Number.isInteger(cacheCheckMs) || cacheCheckMs < 100)
    throw new ConfigError('REMOTEGPU_CACHE_CHECK_MS must be an integer >= 100 (milliseconds)');
  const heartbeatMs = Number(env.REMOTEGPU_HEARTBEAT_MS ?? HEARTBEAT_MS);
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 500)
    throw new ConfigError('REMOTEGPU_HEARTBEAT_MS must be an integer >= 500 (milliseconds)');
  const createDeadlineMs = Number(env.REMOTEGPU_CREATE_DEADLINE_MS ?? 30 * 60_000);
  if (!Number.isInteger(createDeadlineMs) || createDeadlineMs < 1000)
    throw new ConfigError('REMOTEGPU_CREATE_DEADLINE_MS must be an integer >= 1000 (milliseconds)');
  const domain = (env.REMOTEGPU_DOMAIN ?? 'localhost').toLowerCase();
  if (!HOSTNAME.test(domain)) throw new ConfigError('REMOTEGPU_DOMAIN must be a host name such as gpu.example.com');
  const appsDomain = (env.REMOTEGPU_APPS_DOMAIN ?? `container.${domain}`).toLowerCase();
  if (!HOSTNAME.test(appsDomain))
    throw new ConfigError('REMOTEGPU_APPS_DOMAIN must be a host name such as gpu-apps.net');
  const sshDomain = env.REMOTEGPU_SSH_DOMAIN ? env.REMOTEGPU_SSH_DOMAIN.toLowerCase() : null;
  if (sshDomain !== null && !HOSTNAME.test(sshDomain))
    throw new ConfigError('REMOTEGPU_SSH_DOMAIN must be a host name such as gpu.example.com');
  const publicUrl = env.REMOTEGPU_PUBLIC_URL ?? null;
  if (publicUrl !== null && !/^https?:\/\/[^/?#]+\/?$/.test(publicUrl)) {
    throw new ConfigError("REMOTEGPU_PUBLIC_URL must be the console's origin, such as https://gpu.example.com");
  }
  return {
    cpuOvercommit: overcommit,
    placementPolicy: policy,
    domain,
    appsDomain,
    sshDomain,
    sshDns: readSshDns(env, sshDomain),
    publicUrl,
    allowRegister: (env.REMOTEGPU_ALLOW_REGISTER ?? 'true') !== 'false',
    secretKey,
    adminEmail: env.REMOTEGPU_ADMIN_EMAIL ? env.REMOTEGPU_ADMIN_EMAIL.toLowerCase() : null,
    adminPassword: env.REMOTEGPU_ADMIN_PASSWORD ?? null,
    commandTimeoutMs: timeout,
    appFirstByteMs: firstByte,
    billing: readBillingConfig(env),
    cacheCheckMs,
    heartbeatMs,
    createDeadlineMs,
  };
}

/** Both secrets or neither; they only make sense with an SSH domain. */
function readSshDns(env: Bindings, sshDomain: string | null): SshDnsConfig | null {
  const zoneId = env.REMOTEGPU_CF_ZONE_ID?.trim() ?? '';
  const apiToken = env.REMOTEGPU_CF_API_TOKEN?.trim() ?? '';
  const apiBase = env.REMOTEGPU_CF_API_BASE?.trim() || null;
  if (!zoneId && !apiToken) return null;
  if (!zoneId || !apiToken)
    throw new ConfigError('REMOTEGPU_CF_ZONE_ID and REMOTEGPU_CF_API_TOKEN go together: set both or neither');
  if (!sshDomain) throw new ConfigError('REMOTEGPU_CF_ZONE_ID is set but REMOTEGPU_SSH_DOMAIN is not');
  if (!/^[A-Za-z0-9]{1,64}$/.test(zoneId)) throw new ConfigError('REMOTEGPU_CF_ZONE_ID must be the zone id (hex)');
  if (apiBase !== null && !/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(apiBase))
    throw new ConfigError('REMOTEGPU_CF_API_BASE must be a URL such as https://api.cloudflare.com/client/v4');
  return { zoneId, apiToken, apiBase: apiBase?.replace(/\/$/, '') ?? null };
}
