// Metrics from relays: the latest sample per environment in Redis, the history in the database.
import { redisKeys, tables, type ResourceMetrics } from '@remotegpu/schema';
import { and, inArray, lt } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { bestEffort } from '../lib/unavailable.ts';

const METRICS_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** Rows per INSERT (10 bound values each: well under SQLite's 32,766 variables). */
const INSERT_CHUNK = 500;

/**
 * Stores samples of `hostId`'s environments (the caller checked ownership): each once per host, environment and
 * timestamp (a relay re-sends what was not acknowledged), a week kept; the newest per environment becomes the latest.
 */
export async function recordMetrics(deps: Deps, hostId: string, samples: ResourceMetrics[]): Promise<void> {
  if (!samples.length) return;
  const rows = samples.map((s) => {
    const ts = Date.parse(s.timestamp) || Date.now();
    return {
      environment_id: s.environment_id,
      ts,
      cpu_usage: s.cpu_usage,
      memory_usage: s.memory_usage,
      gpu_usage: s.gpu_usage,
      network_in: Math.round(s.network_in),
      network_out: Math.round(s.network_out),
      payload: s,
      dedupe_key: `${hostId}:${s.environment_id}:${ts}`,
    };
  });
  for (let i = 0; i < rows.length; i += INSERT_CHUNK)
    await deps.db
      .insert(tables.metricSamples)
      .values(rows.slice(i, i + INSERT_CHUNK))
      .onConflictDoNothing();
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
  // A backlog after an outage arrives oldest first: only each environment's newest sample may become the latest.
  const newest = new Map<string, ResourceMetrics>();
  for (const r of rows) {
    const cur = newest.get(r.environment_id);
    if (!cur || (Date.parse(cur.timestamp) || 0) <= r.ts) newest.set(r.environment_id, r.payload);
  }
  // History first, then the latest: whoever sees a latest sample also finds it in the history.
  await bestEffort('latest metrics', () => {
    const p = deps.redis.pipeline();
    for (const s of newest.values()) p.set(redisKeys.metrics(s.environment_id), JSON.stringify(s), { ex: 300 });
    return p.exec();
  });
}
