// What the SSH names' DNS records should be, and the changes that make a zone's records match: pure, no I/O.
import { sshHostName } from '@remotegpu/schema';

export type SshRecordType = 'A' | 'AAAA' | 'CNAME';

/** The record one environment should have: `<envid>.ssh.<domain>` → its relay's public host. */
export interface WantedRecord {
  envId: string;
  name: string;
  type: SshRecordType;
  content: string;
  /** Marks the record as ours, so the reconcile may delete it when its environment is gone. */
  comment: string;
}

/** A record as the DNS API lists it (only the fields the sync compares). */
export interface ExistingRecord {
  id: string;
  name: string;
  type: string;
  content: string;
  comment: string | null;
}

export type DnsChange =
  | { op: 'create'; record: WantedRecord }
  | { op: 'update'; id: string; record: WantedRecord }
  | { op: 'delete'; id: string; name: string };

/** Every record the edge keeps carries a comment starting with this (Cloudflare's list filters by comment prefix). */
export const RECORD_COMMENT_PREFIX = 'remotegpu-ssh';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** An IPv4 address gets an A record, an IPv6 address AAAA, a host name a CNAME to it. */
export function recordTypeFor(relayHost: string): SshRecordType {
  if (IPV4.test(relayHost)) return 'A';
  return relayHost.includes(':') ? 'AAAA' : 'CNAME';
}

export function wantedRecord(envId: string, sshDomain: string, relayHost: string): WantedRecord {
  const host = relayHost.replace(/^\[|\]$/g, '').toLowerCase();
  return {
    envId,
    name: sshHostName(envId, sshDomain),
    type: recordTypeFor(host),
    content: host,
    comment: `${RECORD_COMMENT_PREFIX} env=${envId}`,
  };
}

const same = (a: ExistingRecord, w: WantedRecord) =>
  a.type === w.type && a.content.toLowerCase() === w.content && a.comment === w.comment;

/**
 * The changes that leave exactly `wanted` (or nothing, when null) at one name, given the records there now:
 * a matching record is kept, else the first is overwritten (type included), and any others are deleted.
 */
export function planName(wanted: WantedRecord | null, existing: ExistingRecord[]): DnsChange[] {
  if (!wanted) return existing.map((r) => ({ op: 'delete', id: r.id, name: r.name }));
  const keep = existing.find((r) => same(r, wanted)) ?? existing[0];
  const changes: DnsChange[] = [];
  if (!keep) changes.push({ op: 'create', record: wanted });
  else if (!same(keep, wanted)) changes.push({ op: 'update', id: keep.id, record: wanted });
  for (const r of existing) if (r !== keep) changes.push({ op: 'delete', id: r.id, name: r.name });
  return changes;
}

/**
 * The changes that make the zone's records of ours (`existing`: those the API lists with our comment prefix under
 * `.ssh.<domain>`) match `wanted`: missing ones created, drifted ones fixed, orphans and duplicates deleted.
 */
export function planZone(wanted: WantedRecord[], existing: ExistingRecord[]): DnsChange[] {
  const byName = new Map<string, ExistingRecord[]>();
  for (const r of existing) {
    const name = r.name.toLowerCase();
    byName.set(name, [...(byName.get(name) ?? []), r]);
  }
  const changes: DnsChange[] = [];
  for (const w of wanted) {
    changes.push(...planName(w, byName.get(w.name) ?? []));
    byName.delete(w.name);
  }
  for (const orphans of byName.values()) changes.push(...planName(null, orphans));
  return changes;
}
