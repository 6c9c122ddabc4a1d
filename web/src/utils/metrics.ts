// Pure helpers behind the monitoring charts: merging polled samples, GPU memory share, network rates, the time window.
import type { ResourceMetrics } from '../api/types.ts';

export type Point = [number, number];

const at = (s: ResourceMetrics): number => Date.parse(s.timestamp);

/** Adds newly polled samples (history and latest overlap) and keeps the newest `max`, oldest first. */
export function mergeSamples(current: ResourceMetrics[], incoming: ResourceMetrics[], max = 720): ResourceMetrics[] {
  const byTime = new Map(current.map((s) => [s.timestamp, s]));
  for (const s of incoming) byTime.set(s.timestamp, s);
  return [...byTime.values()].sort((a, b) => at(a) - at(b)).slice(-max);
}

/** Used share of all the environment's GPU memory, in percent (0 without GPUs). */
export function gpuMemoryPercent(s: ResourceMetrics): number {
  const used = (s.gpus ?? []).reduce((a, g) => a + g.memory_used, 0);
  const total = (s.gpus ?? []).reduce((a, g) => a + g.memory_total, 0);
  return total > 0 ? (used / total) * 100 : 0;
}

/** network_in/out are byte counters: their rate between samples in bytes/s (a counter reset counts as zero). */
export function networkRates(samples: ResourceMetrics[]): { rx: Point[]; tx: Point[] } {
  const rx: Point[] = [];
  const tx: Point[] = [];
  samples.forEach((s, i) => {
    const p = samples[i - 1];
    if (!p) return;
    const dt = (at(s) - at(p)) / 1000;
    if (dt <= 0) return;
    rx.push([at(s), Math.max(0, (s.network_in - p.network_in) / dt)]);
    tx.push([at(s), Math.max(0, (s.network_out - p.network_out) / dt)]);
  });
  return { rx, tx };
}

/** The charts' time axis: at least `minMs` wide, so that a first sample or two do not stretch it over days. */
export function timeWindow(samples: ResourceMetrics[], now: number, minMs = 5 * 60_000): [number, number] {
  const first = samples[0];
  const last = samples[samples.length - 1];
  const to = last ? at(last) : now;
  return [Math.min(first ? at(first) : to, to - minMs), to];
}

export function series(samples: ResourceMetrics[], value: (s: ResourceMetrics) => number): Point[] {
  return samples.map((s) => [at(s), value(s)]);
}
