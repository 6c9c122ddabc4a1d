// Sends the durable outbox up the tunnel in order, a bounded window at a time; entries leave the outbox only when acked.
import { EVENT, MSG, encodeControl } from '@remotegpu/schema';
import type { AuditRecord, ResourceMetrics } from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';
import type { OutboxEntry } from '../state/store.ts';

export interface DrainSource {
  list(limit: number, afterSeq?: number): OutboxEntry[];
  ack(ids: readonly string[]): number;
}

const BATCH = 100;
/** Entries sent but not yet acknowledged; beyond this the drain waits for acks. */
const WINDOW = 1000;

export class OutboxDrain {
  private lastSeq = 0;
  private readonly unacked = new Set<string>();

  constructor(
    private readonly source: DrainSource,
    private readonly send: (text: string) => boolean,
    private readonly log: Logger,
  ) {}

  /** A new connection: everything not acked is sent again (the edge dedupes by id). */
  reset(): void {
    this.lastSeq = 0;
    this.unacked.clear();
  }

  pump(): void {
    while (this.unacked.size < WINDOW) {
      const entries = this.source.list(Math.min(BATCH, WINDOW - this.unacked.size), this.lastSeq);
      if (entries.length === 0) return;
      if (!this.sendBatch(entries)) return;
      this.lastSeq = entries[entries.length - 1]!.seq;
      for (const e of entries) this.unacked.add(e.id);
    }
  }

  acked(ids: readonly string[]): void {
    const n = this.source.ack(ids);
    for (const id of ids) this.unacked.delete(id);
    this.log.debug('outbox acked', { ids: ids.length, deleted: n });
    this.pump();
  }

  /**
   * Audit records go as one `audit` event per batch (AuditEventBatch), metric samples as one `metrics` event
   * (MetricsEvent, each sample with its entry id); anything else one event per entry.
   */
  private sendBatch(entries: OutboxEntry[]): boolean {
    const audits = entries.filter((e) => e.name === EVENT.audit);
    if (audits.length > 0) {
      const events = audits.map((e) => ({ ...(e.data as AuditRecord), id: e.id }));
      const ok = this.send(encodeControl({ type: MSG.event, name: EVENT.audit, id: audits[0]!.id, data: { events } }));
      if (!ok) return false;
    }
    const metrics = entries.filter((e) => e.name === EVENT.metrics);
    if (metrics.length > 0) {
      const samples = metrics.map((e) => ({ ...(e.data as ResourceMetrics), id: e.id }));
      const ok = this.send(
        encodeControl({ type: MSG.event, name: EVENT.metrics, id: metrics[0]!.id, data: { samples } }),
      );
      if (!ok) return false;
    }
    for (const e of entries) {
      if (e.name === EVENT.audit || e.name === EVENT.metrics) continue;
      if (!this.send(encodeControl({ type: MSG.event, name: e.name, id: e.id, data: e.data }))) return false;
    }
    return true;
  }
}
