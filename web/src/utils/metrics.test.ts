// The monitoring charts' arithmetic: merge, GPU memory share, counter rates, time window.
import { describe, expect, it } from 'vitest';
import type { ResourceMetrics } from '../api/types.ts';
import { gpuMemoryPercent, mergeSamples, networkRates, timeWindow } from './metrics.ts';

const sample = (sec: number, extra: Partial<ResourceMetrics> = {}): ResourceMetrics => ({
  environment_id: 'e1',
  type: 'container',
  timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, sec)).toISOString(),
  cpu_usage: 0,
  memory_usage: 0,
  gpu_usage: 0,
  network_in: 0,
  network_out: 0,
  ...extra,
});

describe('metrics helpers', () => {
  it('merges overlapping polls by timestamp, oldest first, newest kept', () => {
    const merged = mergeSamples([sample(10), sample(20)], [sample(20, { cpu_usage: 5 }), sample(0), sample(30)], 3);
    expect(merged.map((s) => s.timestamp.slice(17, 19))).toEqual(['10', '20', '30']);
    expect(merged[1]!.cpu_usage).toBe(5);
  });

  it('sums GPU memory over the GPUs, zero without any', () => {
    expect(gpuMemoryPercent(sample(0))).toBe(0);
    const gpus = [
      { index: 0, utilization: 0, memory_used: 10, memory_total: 40 },
      { index: 1, utilization: 0, memory_used: 30, memory_total: 40 },
    ];
    expect(gpuMemoryPercent(sample(0, { gpus }))).toBe(50);
  });

  it('turns byte counters into rates, a reset into zero', () => {
    const { rx, tx } = networkRates([
      sample(0, { network_in: 0, network_out: 100 }),
      sample(10, { network_in: 1000, network_out: 50 }),
    ]);
    expect(rx.map((p) => p[1])).toEqual([100]);
    expect(tx.map((p) => p[1])).toEqual([0]);
  });

  it('keeps the time axis at least five minutes wide', () => {
    const [from, to] = timeWindow([sample(0), sample(10)], 0);
    expect(to - from).toBe(5 * 60_000);
    expect(timeWindow([], 1_000_000)).toEqual([1_000_000 - 5 * 60_000, 1_000_000]);
  });
});
