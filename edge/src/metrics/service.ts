// Metrics from relays: the latest sample per environment in Redis, the history in the database.
import { redisKeys, tables, type ResourceMetrics } from '@remotegpu/schema';
import { and, inArray, lt } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { bestEffort } from '../lib/unavailable.ts';

const METRICS_RETENTION_MS = 7 * 24 * 3600 * 1000;

export async function recordMetrics(deps: Deps, samples: ResourceMetrics[]): Promise<void> {
  if (!samples.length) return;
  await deps.db.insert(tables.metricSamples).values(
    samples.map((s) => ({
      environment_id: s.environment_id,
      ts: Date.parse(s.timestamp) || Date.now(),
      cpu_usage: s.cpu_usage,
      memory_usage: s.memory_usage,
      gpu_usage: s.gpu_usage,
      network_in: Math.round(s.network_in),
      network_out: Math.round(s.network_out),
      payload: s,
    })),
  );
  // Retention: a week of history per environment (an indexed delete of what just aged out).
  const ids = [...new Set(samples.map((x) => x.environment_id))];
  await deps.db
    .delete(tables.metricSamples)
    .where(
      and(
        inArray(tables.metricSamples.environment_id, ids),
        lt(tables.metricSamples.ts, Date.now() - METRICS_RETENTION_MS),
      ),
    );
  // History first, then the latest: whoever sees a latest sample also finds it in the history.
  await bestEffort('latest metrics', () => {
    const p = deps.redis.pipeline();
    for (const s of samples) p.set(redisKeys.metrics(s.environment_id), JSON.stringify(s), { ex: 300 });
    return p.exec();
  });
}
