// The durable outbox as the AuditSink and RecordingSink seams: events (and metric samples, bounded per environment)
// are stored locally first, drained by the tunnel, and forgotten when the edge acknowledges them.
import { randomUUID } from 'node:crypto';
import { EVENT } from '@remotegpu/schema';
import type { AuditRecord, ResourceMetrics, UsageReport } from '@remotegpu/schema';
import type { AuditSink, Logger, RecordingSink, SessionRecording } from '../contracts.ts';
import type { UsageSink } from '../metering/meter.ts';
import type { OutboxEntry } from '../state/store.ts';

/** The part of the state store the outbox needs. */
export interface OutboxStore {
  outboxAppend(id: string, name: string, data: unknown): void;
  outboxList(limit: number, afterSeq?: number): OutboxEntry[];
  outboxDelete(ids: readonly string[]): number;
  outboxAppendMetrics(
    entries: readonly { environmentId: string; timestamp: string; data: unknown }[],
    keepPerEnv: number,
  ): Map<string, number>;
}

/**
 * How many unacknowledged samples per environment the outbox keeps while the edge is out of reach: an hour at the
 * default 10 s interval (360). Older ones are dropped first, with a warning that counts them.
 */
export const METRICS_BACKLOG_MS = 3600_000;

/** A recording must fit in one control frame (4 MiB) with room for its JSON envelope. */
const MAX_CAST_CHARS = 3 * 1024 * 1024;

/** Sends an event that could not be stored straight up the tunnel (or into its in-memory queue). */
export type OutboxFallback = (id: string, name: string, data: unknown) => void;

/** How often the state error itself is reported to the edge while writes keep failing. */
const STATE_ERROR_EVERY_MS = 60_000;

export class Outbox implements AuditSink, RecordingSink, UsageSink {
  private readonly listeners = new Set<() => void>();
  private fallback: OutboxFallback | null = null;
  private lastStateError = 0;
  private metricsFallback: ((samples: readonly ResourceMetrics[]) => void) | null = null;
  private lastMetricsError = 0;
  /** Metric samples dropped (oldest first) because an environment's backlog was full, since the agent started. */
  private droppedSamples = 0;

  constructor(
    private readonly store: OutboxStore,
    private readonly log: Logger,
    private readonly newId: () => string = randomUUID,
  ) {}

  /**
   * Samples go through the outbox too (acked, re-sent after an outage, deduped at the edge by environment and
   * timestamp); at most `keepPerEnv` unacknowledged samples per environment are kept, the oldest dropped first.
   */
  metrics(samples: readonly ResourceMetrics[], keepPerEnv: number): void {
    if (samples.length === 0) return;
    let dropped: Map<string, number>;
    try {
      dropped = this.store.outboxAppendMetrics(
        samples.map((s) => ({ environmentId: s.environment_id, timestamp: s.timestamp, data: s })),
        keepPerEnv,
      );
    } catch (err) {
      // A full disk fails every tick: say so once a minute, and send the samples as before (dropped if disconnected,
      // so that they never push audit events out of the tunnel's in-memory queue).
      const now = Date.now();
      if (now - this.lastMetricsError >= STATE_ERROR_EVERY_MS) {
        this.lastMetricsError = now;
        this.log.error('could not persist metric samples: sending them without a local copy', {
          err,
          samples: samples.length,
        });
      }
      this.metricsFallback?.(samples);
      return;
    }
    for (const [env, n] of dropped) {
      this.droppedSamples += n;
      this.log.warn('metric backlog full: oldest samples dropped', {
        env_id: env,
        dropped: n,
        keep: keepPerEnv,
        dropped_total: this.droppedSamples,
      });
    }
    for (const fn of this.listeners) fn();
  }

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

  /** Any other event that must reach the edge even across an outage (e.g. `image.saved`). */
  event(name: string, data: unknown): void {
    this.append(this.newId(), name, data);
  }

  list(limit: number, afterSeq = 0): OutboxEntry[] {
    return this.store.outboxList(limit, afterSeq);
  }

  /** The edge stored these: forget them. */
  ack(ids: readonly string[]): number {
    return this.store.outboxDelete(ids);
  }

  /**
   * Where events go when the state file cannot take them (a full disk): straight to the edge, not durable but not
   * silently lost; the edge also gets a `relay.state_write_failed` audit event (no environment) saying why.
   */
  setFallback(fn: OutboxFallback): void {
    this.fallback = fn;
  }

  /** Where metric samples go when the state file cannot take them: sent if connected, else dropped. */
  setMetricsFallback(fn: (samples: readonly ResourceMetrics[]) => void): void {
    this.metricsFallback = fn;
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
      const error = String((err as Error)?.message ?? err).slice(0, 300);
      this.log.error('could not persist an outbox event: sending it without a local copy', {
        err,
        event: name,
        direct: this.fallback !== null,
      });
      this.fallback?.(id, name, data);
      const now = Date.now();
      if (this.fallback && now - this.lastStateError >= STATE_ERROR_EVERY_MS) {
        this.lastStateError = now;
        const report: AuditRecord = {
          timestamp: new Date(now).toISOString(),
          environment_id: null,
          type: null,
          event: 'relay.state_write_failed',
          source_ip: null,
          username: null,
          status: 'failure',
          detail: { error },
        };
        this.fallback(this.newId(), EVENT.audit, report);
      }
      return;
    }
    for (const fn of this.listeners) fn();
  }
}
