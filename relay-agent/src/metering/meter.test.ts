// The relay's running-time meter with an injected clock: intervals, stops reported at once, state kept across restarts.
import { describe, expect, it } from 'vitest';
import type { UsageReport } from '@remotegpu/schema';
import { silentLogger } from '../log.ts';
import { StateStore } from '../state/store.ts';
import { RunningMeter } from './meter.ts';

function setup() {
  let t = 1_000_000;
  const reports: UsageReport[] = [];
  const store = StateStore.open(':memory:');
  const sink = { usage: (r: UsageReport) => reports.push(r) };
  const make = () => new RunningMeter(store, sink, () => t, silentLogger);
  return { reports, make, advance: (ms: number) => (t += ms) };
}

describe('RunningMeter', () => {
  it('counts only running intervals, reports whole cumulative seconds, and a stop at once', () => {
    const { reports, make, advance } = setup();
    const m = make();
    m.observe('e1', 'running');
    advance(1_500);
    m.flush();
    advance(400);
    m.observe('e1', 'exited');
    advance(10_000);
    m.flush();
    m.observe('e1', 'running');
    advance(2_200);
    m.observe('e1', 'exited');
    expect(reports.map((r) => r.running_seconds)).toEqual([1, 4]);
    expect(m.runningMs('e1')).toBe(4_100);
  });

  it('keeps counting across an agent restart, and sync closes what is no longer running', () => {
    const { reports, make, advance } = setup();
    make().observe('e1', 'running');
    advance(30_000);
    const again = make();
    advance(30_000);
    again.sync([{ environment_id: 'e1', state: 'exited' }]);
    expect(reports.at(-1)?.running_seconds).toBe(60);
    advance(60_000);
    again.sync([]);
    again.flush();
    expect(reports).toHaveLength(1);
  });
});
