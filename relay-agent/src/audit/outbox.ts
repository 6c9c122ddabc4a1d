// The durable outbox as the AuditSink and RecordingSink seams: events are stored locally first, drained by the tunnel.
import { randomUUID } from 'node:crypto';
import { EVENT } from '@remotegpu/schema';
import type { AuditRecord, UsageReport } from '@remotegpu/schema';
import type { AuditSink, Logger, RecordingSink, SessionRecording } from '../contracts.ts';
import type { UsageSink } from '../metering/meter.ts';
import type { OutboxEntry } from '../state/store.ts';

/** The part of the state store the outbox needs. */
export interface OutboxStore {
  outboxAppend(id: string, name: string, data: unknown): void;
  outboxList(limit: number, afterSeq?: number): OutboxEntry[];
  outboxDelete(ids: readonly string[]): number;
}

/** A recording must fit in one control frame (4 MiB) with room for its JSON envelope. */
const MAX_CAST_CHARS = 3 * 1024 * 1024;

export class Outbox implements AuditSink, RecordingSink, UsageSink {
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly store: OutboxStore,
    private readonly log: Logger,
    private readonly newId: () => string = randomUUID,
  ) {}

  record(event: AuditRecord): void {
    this.append(this.newId(), EVENT.audit, event);
  }

  /** Running time for billing: the id names the environment and its cumulative seconds (one entry per value). */
  usage(report: UsageReport): void {
    this.append(`usage:${report.environment_id}:${report.running_seconds}`, EVENT.usage, report);
  }

  upload(rec: SessionRecording): void {
    let cast = rec.cast;
    if (cast.length > MAX_CAST_CHARS) {
      this.log.warn('session recording truncated to fit one frame', { env_id: rec.environment_id, chars: cast.length });
      cast = cast.slice(0, cast.lastIndexOf('\n', MAX_CAST_CHARS) + 1);
    }
    this.append(rec.id, EVENT.recording, { ...rec, cast });
  }

  list(limit: number, afterSeq = 0): OutboxEntry[] {
    return this.store.outboxList(limit, afterSeq);
  }

  /** The edge stored these: forget them. */
  ack(ids: readonly string[]): number {
    return this.store.outboxDelete(ids);
  }

  /** Called after every append (the tunnel drains on it). */
  onAppend(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private append(id: string, name: string, data: unknown): void {
    try {
      this.store.outboxAppend(id, name, data);
    } catch (err) {
      // Losing an audit line is bad, crashing the SSH session that produced it is worse.
      this.log.error('could not persist an outbox event', { err, event: name });
      return;
    }
    for (const fn of this.listeners) fn();
  }
}
