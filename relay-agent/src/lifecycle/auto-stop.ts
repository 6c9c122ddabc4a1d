// Idle stop and scheduled stop, decided on the relay from what it sees itself (sessions, app requests, GPU use), so
// they work while the edge is away. A warning (audit event) precedes each stop; any activity postpones an idle stop.
import type { AuditRecord, ResourceMetrics, Route } from '@remotegpu/schema';
import type { AuditSink, Logger } from '../contracts.ts';
import type { Clock } from '../tunnel/clock.ts';

/** GPU use at or above this (%) counts as activity when the owner did not choose a threshold. */
const DEFAULT_GPU_THRESHOLD_PCT = 5;
/** How long before a stop the warning goes out: a quarter of the idle window, at most 5 minutes. */
const MAX_WARNING_MS = 5 * 60_000;

export interface AutoStopDeps {
  clock: Clock;
  log: Logger;
  /** The relay's routes (each carries the owner's `auto_stop`). */
  routes(): Route[];
  /** When the environment's container last started (epoch ms), or null when it is not running. */
  startedAt(environmentId: string): Promise<number | null>;
  stop(environmentId: string): Promise<void>;
  /** Where warnings and stops are recorded (the durable outbox). */
  audit: AuditSink;
  /** Called with each warning (a hook for webhooks once notifications exist). */
  onWarning?(event: AuditRecord): void;
}

type Kind = 'idle' | 'scheduled';

export class AutoStop {
  /** Open SSH connections and terminal shells per environment, by connection/session id. */
  private readonly sessions = new Map<string, Set<string>>();
  private readonly lastActive = new Map<string, number>();
  /** Warnings sent, by environment: the stop time they announced. */
  private readonly warned = new Map<string, { kind: Kind; at: number }>();
  private readonly bootAt: number;

  constructor(private readonly d: AutoStopDeps) {
    this.bootAt = d.clock.now();
  }

  /** Any sign of use: an app request, a file transfer, a terminal frame. */
  touch(environmentId: string): void {
    this.lastActive.set(environmentId, this.d.clock.now());
  }

  /** Follows the audit trail for SSH and terminal sessions: a login opens one, its logout closes it. */
  observe(e: AuditRecord): void {
    if (!e.environment_id || (e.event !== 'ssh_login' && e.event !== 'ssh_logout')) return;
    const detail = (e.detail ?? {}) as { conn_id?: unknown; session?: unknown };
    const key = detail.conn_id !== undefined ? `ssh:${String(detail.conn_id)}` : `web:${String(detail.session)}`;
    const open = this.sessions.get(e.environment_id) ?? new Set<string>();
    if (e.event === 'ssh_login' && e.status === 'success') open.add(key);
    else if (e.event === 'ssh_logout') open.delete(key);
    if (open.size) this.sessions.set(e.environment_id, open);
    else this.sessions.delete(e.environment_id);
    this.touch(e.environment_id);
  }

  /** GPU utilisation from the metrics samples: at or above the owner's threshold it is activity. */
  observeMetrics(samples: ResourceMetrics[], routes: (id: string) => Route | undefined): void {
    for (const s of samples) {
      if (!s.gpus?.length) continue;
      const threshold = routes(s.environment_id)?.auto_stop?.gpu_idle_threshold_pct ?? DEFAULT_GPU_THRESHOLD_PCT;
      if (s.gpus.some((g) => g.utilization >= threshold)) this.touch(s.environment_id);
    }
  }

  /** One pass over the routes: warn, stop, or nothing. Called periodically (run()) and by tests. */
  async check(): Promise<void> {
    const now = this.d.clock.now();
    for (const r of this.d.routes()) {
      const a = r.auto_stop;
      if (r.type !== 'container' || !r.running || !a || (a.idle_minutes === null && a.scheduled_at === null)) continue;
      const started = await this.d.startedAt(r.environment_id).catch(() => null);
      if (started === null) continue;
      const due = this.dueAt(r, started);
      if (!due) {
        this.warned.delete(r.environment_id);
        continue;
      }
      const warning = Math.min(MAX_WARNING_MS, a.idle_minutes ? (a.idle_minutes * 60_000) / 4 : MAX_WARNING_MS);
      // Never a stop without its warning: one due before any warning went out is warned now and done next check.
      if (now >= due.at && this.warned.get(r.environment_id)?.kind === due.kind) await this.fire(r, due.kind, now);
      else if (now >= due.at - warning) this.warn(r, due, now);
      else this.warned.delete(r.environment_id);
    }
  }

  /** The earlier of the idle deadline (postponed by every activity) and a scheduled time set before this start. */
  private dueAt(r: Route, started: number): { kind: Kind; at: number } | null {
    const a = r.auto_stop!;
    let due: { kind: Kind; at: number } | null = null;
    if (a.scheduled_at !== null && a.scheduled_at > started) due = { kind: 'scheduled', at: a.scheduled_at };
    if (a.idle_minutes !== null && !this.sessions.get(r.environment_id)?.size) {
      const since = Math.max(started, this.bootAt, this.lastActive.get(r.environment_id) ?? 0);
      const at = since + a.idle_minutes * 60_000;
      if (!due || at < due.at) due = { kind: 'idle', at };
    }
    return due;
  }

  private warn(r: Route, due: { kind: Kind; at: number }, now: number): void {
    const prev = this.warned.get(r.environment_id);
    if (prev && prev.kind === due.kind && prev.at === due.at) return;
    // An idle deadline moves with activity: warn again only when it comes closer than the last warning said.
    if (prev && prev.kind === due.kind && due.at > prev.at) return;
    this.warned.set(r.environment_id, due);
    const rec = this.record(r, `environment.${due.kind}_stop_warning`, {
      stop_at: new Date(due.at).toISOString(),
      in_ms: due.at - now,
    });
    this.d.log.info('auto stop warning', { env_id: r.environment_id, kind: due.kind, stop_at: due.at });
    this.d.onWarning?.(rec);
  }

  private async fire(r: Route, kind: Kind, now: number): Promise<void> {
    const log = this.d.log.child({ env_id: r.environment_id });
    log.info('auto stop', { kind });
    try {
      await this.d.stop(r.environment_id);
      this.record(r, `environment.${kind}_stop`, { at: new Date(now).toISOString() });
    } catch (err) {
      log.warn('auto stop failed', { kind, err });
    }
    this.warned.delete(r.environment_id);
    this.lastActive.delete(r.environment_id);
  }

  private record(r: Route, event: string, detail: Record<string, unknown>): AuditRecord {
    const rec: AuditRecord = {
      timestamp: new Date(this.d.clock.now()).toISOString(),
      environment_id: r.environment_id,
      type: r.type,
      event,
      source_ip: null,
      username: null,
      status: 'success',
      detail: { source: 'relay', ...detail },
    };
    this.d.audit.record(rec);
    return rec;
  }

  /** Checks every `intervalMs` until the signal aborts. */
  async run(intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.d.clock.sleep(intervalMs, signal);
      if (signal.aborted) return;
      await this.check().catch((err: unknown) => this.d.log.warn('auto stop check failed', { err }));
    }
  }
}
