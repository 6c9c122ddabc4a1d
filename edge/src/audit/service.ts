// Audit events of actions (allocations, creates, logins, ...) in the same table as the relays' SSH logins.
import { tables } from '@remotegpu/schema';
import type { Deps } from '../deps.ts';

export interface AuditInput {
  event: string;
  status: 'success' | 'failure' | 'locked' | string;
  user_id?: string | null;
  actor_id?: string | null;
  environment_id?: string | null;
  type?: string | null;
  source_ip?: string | null;
  username?: string | null;
  host_id?: string | null;
  detail?: unknown;
}

export async function recordAudit(deps: Deps, e: AuditInput): Promise<void> {
  try {
    await deps.db.insert(tables.auditEvents).values({
      timestamp: new Date().toISOString(),
      event: e.event,
      status: e.status,
      user_id: e.user_id ?? null,
      actor_id: e.actor_id ?? null,
      environment_id: e.environment_id ?? null,
      type: e.type ?? null,
      source_ip: e.source_ip ?? null,
      username: e.username ?? null,
      host_id: e.host_id ?? null,
      detail: e.detail ?? null,
    });
  } catch (err) {
    // An audit write failure must not undo the action it describes; it is logged for the operator.
    console.error(JSON.stringify({ level: 'error', msg: 'audit write failed', event: e.event, error: String(err) }));
  }
}
