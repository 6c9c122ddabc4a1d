// The SSH names' zone through Cloudflare's official API client (`cloudflare`, fetch-based, only its DNS records resource).
import type { SshDnsConfig } from '../config.ts';
import type { ExistingRecord, WantedRecord } from './plan.ts';

/** The few calls the sync makes on the zone: a seam so that the planning is tested without a server. */
export interface DnsZone {
  /** Every record named exactly `name` (any type). */
  listName(name: string): Promise<ExistingRecord[]>;
  /** Every record under `.<suffix>` whose comment starts with `commentPrefix` (all pages). */
  listOurs(suffix: string, commentPrefix: string): Promise<ExistingRecord[]>;
  create(record: WantedRecord): Promise<void>;
  /** Overwrites the record (PUT: type, content, TTL, comment). */
  update(id: string, record: WantedRecord): Promise<void>;
  remove(id: string): Promise<void>;
}

/** Names that follow environments between relays: short-lived in resolvers' caches (Cloudflare's minimum). */
const RECORD_TTL_S = 60;

/**
 * A zone client. Errors are the client's (`APIError` with `status`, connection errors); one retry, 10 s per call:
 * callers on a renter's request must not wait long, and the reconcile repairs whatever a failure left.
 */
export function cloudflareZone(cfg: SshDnsConfig): DnsZone {
  let client: ReturnType<typeof recordsClient> | null = null;
  const records = () => (client ??= recordsClient(cfg));
  const zone_id = cfg.zoneId;
  const body = (r: WantedRecord) => ({
    zone_id,
    name: r.name,
    type: r.type,
    content: r.content,
    ttl: RECORD_TTL_S,
    // SSH cannot go through Cloudflare's HTTP proxy: the name must resolve to the relay itself.
    proxied: false,
    comment: r.comment,
  });
  const collect = async (query: ListQuery): Promise<ExistingRecord[]> => {
    const out: ExistingRecord[] = [];
    for await (const r of (await records()).list(query)) {
      out.push({ id: r.id, name: r.name, type: r.type, content: r.content ?? '', comment: r.comment ?? null });
    }
    return out;
  };
  return {
    listName: (name) => collect({ zone_id, name: { exact: name }, per_page: 100 }),
    listOurs: (suffix, commentPrefix) =>
      collect({
        zone_id,
        name: { endswith: `.${suffix}` },
        comment: { startswith: commentPrefix },
        match: 'all',
        per_page: 500,
      }),
    create: async (r) => {
      await (await records()).create(body(r));
    },
    update: async (id, r) => {
      await (await records()).update(id, body(r));
    },
    remove: async (id) => {
      await (await records()).delete(id, { zone_id });
    },
  };
}

/** The client module, loaded on first use (see records-client.ts). */
const recordsClient = async (cfg: SshDnsConfig) => (await import('./records-client.ts')).recordsClient(cfg);

type ListQuery = Parameters<Awaited<ReturnType<typeof recordsClient>>['list']>[0];
