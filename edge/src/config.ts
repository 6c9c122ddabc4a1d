// The edge's configuration, read from bindings once per isolate and validated.
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
  publicUrl: string | null;
  allowRegister: boolean;
  secretKey: string;
  adminEmail: string | null;
  adminPassword: string | null;
  commandTimeoutMs: number;
  /** CPU cores a relay may hand out per physical core (1 = no overcommit). */
  cpuOvercommit: number;
  /** Operator-wide cap on the wait for an app's first response byte (504 after it); null = none, only owners' per-port caps. */
  appFirstByteMs: number | null;
  /** Days a deleted environment's data volume is kept, listed and restorable (0 = removed at once). */
  dataRetentionDays: number;
  /** The CPU cores and memory (GB) of an environment started without GPUs (无卡模式). */
  noGpuCpuCores: number;
  noGpuMemoryGb: number;
  /**
   * The operator's image registry (REMOTEGPU_REGISTRY, `host[:port]`): where environments are saved as images; every
   * relay's engine must reach it under this name. Null: saving is off.
   */
  registry: string | null;
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
  const firstByteRaw = env.REMOTEGPU_APP_FIRST_BYTE_MS?.trim() ?? '';
  const firstByte = firstByteRaw === '' ? null : Number(firstByteRaw);
  if (firstByte !== null && (!Number.isInteger(firstByte) || firstByte < 1000)) {
    throw new ConfigError(
      'REMOTEGPU_APP_FIRST_BYTE_MS must be an integer >= 1000 (milliseconds), or unset for no operator-wide cap',
    );
  }
  const retention = Number(env.REMOTEGPU_DATA_RETENTION_DAYS?.trim() || 0);
  // Fractions are allowed (tests use seconds' worth of a day).
  if (!Number.isFinite(retention) || retention < 0 || retention > 3650)
    throw new ConfigError('REMOTEGPU_DATA_RETENTION_DAYS must be a number of days, 0-3650 (0 = delete data at once)');
  const noGpuCpu = Number(env.REMOTEGPU_NO_GPU_CPU_CORES?.trim() || 1);
  const noGpuMem = Number(env.REMOTEGPU_NO_GPU_MEMORY_GB?.trim() || 2);
  if (!Number.isInteger(noGpuCpu) || noGpuCpu < 1 || !Number.isInteger(noGpuMem) || noGpuMem < 1)
    throw new ConfigError('REMOTEGPU_NO_GPU_CPU_CORES and REMOTEGPU_NO_GPU_MEMORY_GB must be integers >= 1');
  const registry = env.REMOTEGPU_REGISTRY?.trim().toLowerCase() || null;
  if (registry !== null && !/^[a-z0-9.-]+(:\d{1,5})?$/.test(registry))
    throw new ConfigError('REMOTEGPU_REGISTRY must be host[:port] of the image registry, such as 127.0.0.1:5000');
  const domain = (env.REMOTEGPU_DOMAIN ?? 'localhost').toLowerCase();
  if (!HOSTNAME.test(domain)) throw new ConfigError('REMOTEGPU_DOMAIN must be a host name such as gpu.example.com');
  const appsDomain = (env.REMOTEGPU_APPS_DOMAIN ?? `container.${domain}`).toLowerCase();
  if (!HOSTNAME.test(appsDomain))
    throw new ConfigError('REMOTEGPU_APPS_DOMAIN must be a host name such as gpu-apps.net');
  const publicUrl = env.REMOTEGPU_PUBLIC_URL ?? null;
  if (publicUrl !== null && !/^https?:\/\/[^/?#]+\/?$/.test(publicUrl)) {
    throw new ConfigError("REMOTEGPU_PUBLIC_URL must be the console's origin, such as https://gpu.example.com");
  }
  return {
    cpuOvercommit: overcommit,
    domain,
    appsDomain,
    sshDomain: env.REMOTEGPU_SSH_DOMAIN ? env.REMOTEGPU_SSH_DOMAIN.toLowerCase() : null,
    publicUrl,
    allowRegister: (env.REMOTEGPU_ALLOW_REGISTER ?? 'true') !== 'false',
    secretKey,
    adminEmail: env.REMOTEGPU_ADMIN_EMAIL ? env.REMOTEGPU_ADMIN_EMAIL.toLowerCase() : null,
    adminPassword: env.REMOTEGPU_ADMIN_PASSWORD ?? null,
    commandTimeoutMs: timeout,
    appFirstByteMs: firstByte,
    dataRetentionDays: retention,
    noGpuCpuCores: noGpuCpu,
    noGpuMemoryGb: noGpuMem,
    registry,
  };
}
