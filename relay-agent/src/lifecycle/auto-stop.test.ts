import { describe, expect, it } from 'vitest';
import type { AuditRecord, Route } from '@remotegpu/schema';
import { AutoStop } from './auto-stop.ts';

const T0 = Date.parse('2026-11-30T08:00:00Z');
const SEC = 1000;

function harness(autoStop: Route['auto_stop']) {
  let now = T0;
  const events: string[] = [];
  const stopped: string[] = [];
  const warnings: AuditRecord[] = [];
  const route: Route = {
    environment_id: 'e1',
    type: 'container',
    user_id: 'u1',
    ssh_port: 50000,
    ssh_username: 'root',
    target_ip: '172.31.0.2',
    target: { kind: 'docker', container_id: 'c1' },
    password_hash: 'x',
    owner_keys: [],
    recording: false,
    running: true,
    auto_stop: autoStop,
  };
  let running = true;
  const log = { debug() {}, info() {}, warn() {}, error() {}, child: () => log };
  const a = new AutoStop({
    clock: { now: () => now, sleep: async () => {} },
    log,
    routes: () => [route],
    startedAt: async () => (running ? T0 : null),
    stop: async (id) => {
      stopped.push(id);
      running = false;
    },
    audit: { record: (e) => events.push(e.event) },
    onWarning: (e) => warnings.push(e),
  });
  /** Advances the clock to `t` seconds after T0 in 10 s checks, running `each` before every check. */
  const until = async (t: number, each?: (s: number) => void) => {
    while (now < T0 + t * SEC) {
      now = Math.min(now + 10 * SEC, T0 + t * SEC);
      each?.((now - T0) / SEC);
      await a.check();
    }
  };
  return { a, events, stopped, warnings, until, at: () => (now - T0) / SEC };
}

const idle1 = { idle_minutes: 1, gpu_idle_threshold_pct: null, scheduled_at: null };
const login = (conn: number, event = 'ssh_login'): AuditRecord => ({
  timestamp: '',
  environment_id: 'e1',
  type: 'container',
  event,
  source_ip: '127.0.0.1',
  username: 'root',
  status: 'success',
  detail: { conn_id: conn },
});

describe('idle stop (1-minute window)', () => {
  it('warns, then stops an environment with no sessions: the warning comes first', async () => {
    const h = harness(idle1);
    await h.until(40);
    expect(h.events).toEqual([]);
    await h.until(50);
    expect(h.events).toEqual(['environment.idle_stop_warning']);
    expect(h.warnings[0]!.detail).toMatchObject({ stop_at: new Date(T0 + 60 * SEC).toISOString() });
    expect(h.stopped).toEqual([]);
    await h.until(60);
    expect(h.stopped).toEqual(['e1']);
    expect(h.events).toEqual(['environment.idle_stop_warning', 'environment.idle_stop']);
  });

  it('keeps an environment with an open SSH session; the window starts again when it closes', async () => {
    const h = harness(idle1);
    await h.until(30);
    h.a.observe(login(1));
    await h.until(300);
    expect(h.stopped).toEqual([]);
    expect(h.events).toEqual([]);
    h.a.observe(login(1, 'ssh_logout'));
    await h.until(350);
    expect(h.stopped).toEqual([]);
    await h.until(360);
    expect(h.stopped).toEqual(['e1']);
  });

  it('keeps an environment that gets an app request every 20 s', async () => {
    const h = harness(idle1);
    await h.until(600, (s) => {
      if (s % 20 === 0) h.a.touch('e1');
    });
    expect(h.stopped).toEqual([]);
    expect(h.events).toEqual([]);
  });

  it('activity after a warning postpones the stop', async () => {
    const h = harness(idle1);
    await h.until(50);
    expect(h.events).toEqual(['environment.idle_stop_warning']);
    h.a.touch('e1');
    await h.until(100);
    expect(h.stopped).toEqual([]);
    await h.until(110);
    expect(h.stopped).toEqual(['e1']);
  });

  it('GPU use at or above the threshold is activity, below it is not', async () => {
    const busy = harness({ ...idle1, gpu_idle_threshold_pct: 10 });
    const sample = (util: number) => [
      {
        environment_id: 'e1',
        type: 'container' as const,
        timestamp: '',
        cpu_usage: 0,
        memory_usage: 0,
        gpu_usage: util,
        network_in: 0,
        network_out: 0,
        gpus: [{ index: 0, utilization: util, memory_used: 0, memory_total: 1 }],
      },
    ];
    await busy.until(300, () => busy.a.observeMetrics(sample(40), () => undefined));
    expect(busy.stopped).toEqual([]);
    const idle = harness({ ...idle1, gpu_idle_threshold_pct: 10 });
    await idle.until(60, () => idle.a.observeMetrics(sample(3), () => undefined));
    expect(idle.stopped).toEqual(['e1']);
  });
});

describe('scheduled stop', () => {
  it('warns and fires at its time, sessions or not', async () => {
    const h = harness({ idle_minutes: null, gpu_idle_threshold_pct: null, scheduled_at: T0 + 600 * SEC });
    h.a.observe(login(7));
    await h.until(290);
    expect(h.events).toEqual([]);
    await h.until(300);
    expect(h.events).toEqual(['environment.scheduled_stop_warning']);
    await h.until(590);
    expect(h.stopped).toEqual([]);
    await h.until(600);
    expect(h.stopped).toEqual(['e1']);
    expect(h.events).toEqual(['environment.scheduled_stop_warning', 'environment.scheduled_stop']);
  });

  it('a time closer than the first check is warned first, then fired at the next check', async () => {
    const h = harness({ idle_minutes: null, gpu_idle_threshold_pct: null, scheduled_at: T0 + 5 * SEC });
    await h.until(10);
    expect(h.events).toEqual(['environment.scheduled_stop_warning']);
    expect(h.stopped).toEqual([]);
    await h.until(20);
    expect(h.events).toEqual(['environment.scheduled_stop_warning', 'environment.scheduled_stop']);
  });

  it('a time before the container started does not stop it again', async () => {
    const h = harness({ idle_minutes: null, gpu_idle_threshold_pct: null, scheduled_at: T0 - SEC });
    await h.until(120);
    expect(h.stopped).toEqual([]);
    expect(h.events).toEqual([]);
  });
});
