// Running time per environment, counted by the relay (the billing source): kept in the local state file, so it
// survives edge outages and agent restarts, and reported as cumulative seconds through the durable outbox.
import type { UsageReport } from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';

export interface MeterStore {
  getSync(key: string): string | null;
  setSync(key: string, value: string): void;
}

export interface UsageSink {
  usage(report: UsageReport): void;
}

interface EnvMeter {
  /** Milliseconds of closed running intervals. */
  ms: number;
  /** Start of the open running interval (epoch ms), or null when not running. */
  since: number | null;
  /** Whole seconds last reported. */
  reported: number;
  /** The container is gone: forget the entry once everything is reported. */
  gone?: boolean;
}

const KEY = 'meter.v1';

export class RunningMeter {
  private readonly envs = new Map<string, EnvMeter>();

  constructor(
    private readonly store: MeterStore,
    private readonly sink: UsageSink,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {
    const raw = store.getSync(KEY);
    if (raw) {
      try {
        for (const [id, m] of Object.entries(JSON.parse(raw) as Record<string, EnvMeter>)) this.envs.set(id, m);
      } catch (err) {
        log.error('meter state unreadable: counting starts again', { err });
      }
    }
  }

  /** A container's state changed (Docker event): running starts an interval, anything else closes it. */
  observe(environmentId: string, state: string): void {
    const at = this.now();
    const m = this.envs.get(environmentId) ?? { ms: 0, since: null, reported: 0 };
    if (state === 'running') {
      m.since ??= at;
      m.gone = false;
    } else {
      this.close(m, at);
      if (state === 'removed') m.gone = true;
    }
    this.envs.set(environmentId, m);
    // A stop is reported at once: the renter is not charged up to the next tick for time the edge cannot see yet.
    if (state === 'running') this.save();
    else this.flush();
  }

  /** The relay's whole container list (at start and each hello): what is not running now stops counting now. */
  sync(containers: readonly { environment_id: string; state: string }[]): void {
    const at = this.now();
    const running = new Set(containers.filter((c) => c.state === 'running').map((c) => c.environment_id));
    const listed = new Set(containers.map((c) => c.environment_id));
    for (const id of running) {
      const m = this.envs.get(id) ?? { ms: 0, since: null, reported: 0 };
      m.since ??= at;
      m.gone = false;
      this.envs.set(id, m);
    }
    for (const [id, m] of this.envs) {
      if (running.has(id)) continue;
      this.close(m, at);
      if (!listed.has(id)) m.gone = true;
    }
    this.flush();
  }

  /** Reports every environment whose whole running seconds grew since its last report. */
  flush(): void {
    const at = this.now();
    for (const [id, m] of this.envs) {
      const seconds = Math.floor((m.ms + (m.since === null ? 0 : at - m.since)) / 1000);
      if (seconds > m.reported) {
        this.sink.usage({ environment_id: id, running_seconds: seconds, at });
        m.reported = seconds;
      }
      if (m.gone && m.since === null && Math.floor(m.ms / 1000) <= m.reported) this.envs.delete(id);
    }
    this.save();
  }

  /** Cumulative running milliseconds of one environment (tests, logs). */
  runningMs(environmentId: string): number {
    const m = this.envs.get(environmentId);
    return m ? m.ms + (m.since === null ? 0 : this.now() - m.since) : 0;
  }

  private close(m: EnvMeter, at: number): void {
    if (m.since === null) return;
    m.ms += Math.max(0, at - m.since);
    m.since = null;
  }

  private save(): void {
    try {
      this.store.setSync(KEY, JSON.stringify(Object.fromEntries(this.envs)));
    } catch (err) {
      this.log.error('could not persist the meter', { err });
    }
  }
}
