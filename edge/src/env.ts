// The Worker's bindings and variables (wrangler.toml [vars], secrets, Durable Objects, assets).
import type { DataShard } from './tunnel/data-shard.ts';
import type { HostTunnel } from './tunnel/host-tunnel.ts';

export interface Bindings {
  /** One per relay: its control connection (`tunnel/host-tunnel.ts`). */
  HOST_TUNNEL: DurableObjectNamespace<HostTunnel>;
  /** K per relay, named `<hostId>:data:<i>`: its app traffic (`tunnel/data-shard.ts`). */
  DATA_SHARD: DurableObjectNamespace<DataShard>;
  ASSETS?: Fetcher;
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  LIBSQL_URL: string;
  LIBSQL_AUTH_TOKEN?: string;
  REMOTEGPU_DOMAIN?: string;
  REMOTEGPU_APPS_DOMAIN?: string;
  REMOTEGPU_SSH_DOMAIN?: string;
  /** Cloudflare DNS for the SSH names (secrets): the zone id and a token with Zone.DNS:Edit on it. */
  REMOTEGPU_CF_ZONE_ID?: string;
  REMOTEGPU_CF_API_TOKEN?: string;
  /** The Cloudflare API's base URL; only the local stand-in (dev/src/cloudflare-dns.ts) changes it. */
  REMOTEGPU_CF_API_BASE?: string;
  REMOTEGPU_PUBLIC_URL?: string;
  REMOTEGPU_ALLOW_REGISTER?: string;
  REMOTEGPU_SECRET_KEY?: string;
  REMOTEGPU_ADMIN_EMAIL?: string;
  REMOTEGPU_ADMIN_PASSWORD?: string;
  REMOTEGPU_COMMAND_TIMEOUT_MS?: string;
  REMOTEGPU_APP_FIRST_BYTE_MS?: string;
  REMOTEGPU_CPU_OVERCOMMIT?: string;
  REMOTEGPU_CURRENCY?: string;
  REMOTEGPU_MIN_BALANCE_HOURS?: string;
  REMOTEGPU_LOW_BALANCE?: string;
  REMOTEGPU_PRORATE_RELEASE?: string;
  REMOTEGPU_SIGNUP_CREDIT?: string;
  REMOTEGPU_PAYMENT_HOOK_SECRET?: string;
  REMOTEGPU_WEBHOOK_MAX_ATTEMPTS?: string;
  REMOTEGPU_WEBHOOK_BACKOFF_MS?: string;
  REMOTEGPU_CACHE_CHECK_MS?: string;
  REMOTEGPU_HEARTBEAT_MS?: string;
  REMOTEGPU_PLACEMENT_POLICY?: string;
  REMOTEGPU_CREATE_DEADLINE_MS?: string;
}
