// Keeps one DNS record per environment, `<envid>.ssh.<domain>` → the relay holding it, in step with the database.
import { sshHostName, tables } from '@remotegpu/schema';
import { eq, inArray } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { cloudflareZone, type DnsZone } from './cloudflare.ts';
import { planName, planZone, RECORD_COMMENT_PREFIX, wantedRecord, type DnsChange, type WantedRecord } from './plan.ts';

/** Environments whose name resolves: from create until delete (a failed create has none). */
const NAMED_STATUSES = ['creating', 'running', 'stopped'] as const;

/** What a reconcile did: the records wanted, and the changes made or failed. */
export interface DnsReconcileSummary {
  managed: boolean;
  records: number;
  created: number;
  updated: number;
  deleted: number;
  failed: number;
}

/** The zone to keep records in, or null when the edge does not manage the SSH names' DNS. */
const zoneOf = (deps: Deps): DnsZone | null => (deps.config.sshDns ? cloudflareZone(deps.config.sshDns) : null);

async function wantedFor(deps: Deps, envId: string): Promise<WantedRecord | null> {
  const sshDomain = deps.config.sshDomain;
  if (!sshDomain) return null;
  const [row] = await deps.db
    .select({ status: tables.environments.status, relay: tables.hosts.public_ssh_host })
    .from(tables.environments)
    .innerJoin(tables.hosts, eq(tables.hosts.id, tables.environments.host_id))
    .where(eq(tables.environments.id, envId));
  if (!row || !(NAMED_STATUSES as readonly string[]).includes(row.status)) return null;
  return wantedRecord(envId, sshDomain, row.relay);
}

async function apply(zone: DnsZone, change: DnsChange): Promise<void> {
  if (change.op === 'create') await zone.create(change.record);
  else if (change.op === 'update') await zone.update(change.id, change.record);
  else await zone.remove(change.id);
}

/** syncEnvDns's work; throws the API client's error when a call fails. */
async function applyEnvDns(deps: Deps, envId: string): Promise<void> {
  const zone = zoneOf(deps);
  const sshDomain = deps.config.sshDomain;
  if (!zone || !sshDomain) return;
  const wanted = await wantedFor(deps, envId);
  const name = sshHostName(envId, sshDomain);
  const changes = planName(wanted, await zone.listName(name));
  for (const c of changes) await apply(zone, c);
  if (changes.length)
    log('info', 'ssh name synced', {
      env_id: envId,
      name,
      content: wanted?.content ?? null,
      changes: changes.map((c) => c.op),
    });
}

/**
 * Makes the record of one environment match the database: created or pointed at its relay's public host while the
 * environment exists (call it after a create, a rent, or a move to another relay), deleted once it is being deleted
 * or gone. Idempotent; a no-op without Cloudflare DNS configured. Never throws: a DNS failure must not fail a
 * renter's create or delete (nor an evacuation), so it is logged (`ssh name sync failed`) and the reconcile repairs it.
 */
export async function syncEnvDns(deps: Deps, envId: string): Promise<void> {
  try {
    await applyEnvDns(deps, envId);
  } catch (err) {
    log('warn', 'ssh name sync failed; the reconcile will repair it', { env_id: envId, error: errorText(err) });
  }
}

/**
 * Makes every record of ours in the zone match the database: missing ones created, wrong ones fixed, orphans and
 * strays (our comment, no environment) deleted. Records under `.ssh.<domain>` without our comment are left alone.
 * Each failed change is counted and logged; listing failures throw.
 */
export async function reconcileDns(deps: Deps): Promise<DnsReconcileSummary> {
  const summary: DnsReconcileSummary = { managed: false, records: 0, created: 0, updated: 0, deleted: 0, failed: 0 };
  const zone = zoneOf(deps);
  const sshDomain = deps.config.sshDomain;
  if (!zone || !sshDomain) return summary;
  summary.managed = true;
  // The zone first, then the database: a record made by a create in between is then wanted, never taken for an orphan.
  const existing = await zone.listOurs(`ssh.${sshDomain}`, RECORD_COMMENT_PREFIX);
  const rows = await deps.db
    .select({ id: tables.environments.id, relay: tables.hosts.public_ssh_host })
    .from(tables.environments)
    .innerJoin(tables.hosts, eq(tables.hosts.id, tables.environments.host_id))
    .where(inArray(tables.environments.status, [...NAMED_STATUSES]));
  const wanted = rows.map((r) => wantedRecord(r.id, sshDomain, r.relay));
  summary.records = wanted.length;
  for (const change of planZone(wanted, existing)) {
    try {
      await apply(zone, change);
      summary[change.op === 'create' ? 'created' : change.op === 'update' ? 'updated' : 'deleted']++;
    } catch (err) {
      summary.failed++;
      const name = change.op === 'delete' ? change.name : change.record.name;
      log('warn', 'ssh name reconcile change failed', { op: change.op, name, error: errorText(err) });
    }
  }
  log(summary.failed ? 'warn' : 'info', 'ssh names reconciled', { ...summary });
  return summary;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function log(level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ level, msg, ...fields }));
}
