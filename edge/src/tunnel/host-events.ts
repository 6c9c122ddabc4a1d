// What the edge does with a relay's hello (presence, reconciliation, routes) and its events.
import {
  AuditEventBatch,
  ContainerStateEvent,
  EVENT,
  MetricsEvent,
  PullProgressEvent,
  UsageReport,
  redisKeys,
  tables,
  type ContainerReport,
  type Hello,
  type Route,
} from '@remotegpu/schema';
import { and, eq, inArray } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { bestEffort } from '../lib/unavailable.ts';
import { buildRoutes } from '../routing/relay-routes.ts';
import { publishRoute, servedEnvs } from '../routing/sync.ts';
import { finalizeDeletions } from '../environments/delete.ts';
import { recordMetrics } from '../metrics/service.ts';
import { storeRecording } from '../audit/recordings.ts';
import { applyUsageReport } from '../billing/metering.ts';
import { emitEvent } from '../webhooks/emit.ts';
import { notifyEnvironment } from '../webhooks/environment-events.ts';
import { applyImageEvent } from '../images/saved.ts';
import { closeUsage } from '../usage/service.ts';

type EnvRow = typeof tables.environments.$inferSelect;

export async function touchHost(deps: Deps, hostId: string): Promise<void> {
  await deps.db
    .update(tables.hosts)
    .set({ status: 'online', offline_reason: null, last_seen_at: Date.now() })
    .where(eq(tables.hosts.id, hostId));
}

/** The relay is gone (`reason`: how the edge lost it): its environments show as unreachable from now. */
export async function markOffline(deps: Deps, hostId: string, reason: string): Promise<void> {
  const [before] = await deps.db
    .select({ status: tables.hosts.status, name: tables.hosts.name })
    .from(tables.hosts)
    .where(eq(tables.hosts.id, hostId));
  await deps.db
    .update(tables.hosts)
    .set({ status: 'offline', offline_reason: reason.slice(0, 500), last_seen_at: Date.now() })
    .where(eq(tables.hosts.id, hostId));
  // Admins' webhooks hear of a relay going away (once per transition).
  if (before?.status === 'online') await emitEvent(deps, null, 'host.offline', { host_id: hostId, name: before.name });
}

/** A relay refused at its hello (a protocol too old or too new): offline, with why and the version it runs. */
export async function refuseHost(deps: Deps, hostId: string, agentVersion: string, reason: string): Promise<void> {
  await deps.db
    .update(tables.hosts)
    .set({
      status: 'offline',
      offline_reason: reason.slice(0, 500),
      agent_version: agentVersion.slice(0, 64),
      last_seen_at: Date.now(),
    })
    .where(eq(tables.hosts.id, hostId));
}

/** Presence and inventory, drift correction from the containers the relay really has, then its route set. */
export interface HelloOutcome {
  routes: Route[];
  /** Containers the relay has whose environment is gone: to remove once the relay is welcomed. */
  orphans: ContainerReport[];
}

export async function onHello(deps: Deps, hostId: string, hello: Hello): Promise<HelloOutcome> {
  await deps.db
    .update(tables.hosts)
    .set({
      status: 'online',
      offline_reason: null,
      last_seen_at: Date.now(),
      agent_version: hello.agent_version,
      ...(hello.inventory ? { inventory: hello.inventory } : {}),
      ...(hello.platform_public_key ? { platform_public_key: hello.platform_public_key } : {}),
      ...(hello.ssh_host_keys ? { ssh_host_keys: hello.ssh_host_keys } : {}),
      ...(hello.ssh_ports && hello.ssh_ports[0] <= hello.ssh_ports[1]
        ? { ssh_port_min: hello.ssh_ports[0], ssh_port_max: hello.ssh_ports[1] }
        : {}),
      ...(hello.shared_ssh_port ? { shared_ssh_port: hello.shared_ssh_port } : {}),
    })
    .where(eq(tables.hosts.id, hostId));
  if (hello.role === 'data') return { routes: [], orphans: [] };
  const orphans = hello.containers ? await reconcile(deps, hostId, hello.containers) : [];
  await finalizeDeletions(deps, hostId);
  return { routes: await buildRoutes(deps, await servedEnvs(deps, hostId)), orphans };
}

async function reconcile(deps: Deps, hostId: string, reported: ContainerReport[]): Promise<ContainerReport[]> {
  const envs = await deps.db
    .select()
    .from(tables.environments)
    .where(and(eq(tables.environments.host_id, hostId), eq(tables.environments.type, 'container')));
  const byEnv = new Map(reported.map((r) => [r.environment_id, r]));
  for (const env of envs) {
    const r = byEnv.get(env.id);
    const patch = driftPatch(env, r);
    if (patch) {
      await deps.db
        .update(tables.environments)
        .set({ ...patch, updated_at: Date.now() })
        .where(eq(tables.environments.id, env.id));
      console.log(
        JSON.stringify({
          level: 'info',
          msg: 'drift corrected',
          env_id: env.id,
          host_id: hostId,
          from: env.status,
          to: patch.status,
        }),
      );
    }
  }
  // Containers whose environment no longer exists (deleted while the relay was away) are removed.
  const known = new Set(envs.filter((e) => e.status !== 'deleting').map((e) => e.id));
  return reported.filter((r) => !known.has(r.environment_id));
}

/** The change that makes a row agree with what its relay reports (null: nothing to change). */
export function driftPatch(env: EnvRow, r: ContainerReport | undefined): Partial<EnvRow> | null {
  if (env.status === 'deleting') return null;
  const running = r?.state === 'running';
  if (!r) {
    if (env.status === 'running' || env.status === 'stopped')
      return { status: 'failed', status_reason: 'the container is gone from its relay' };
    return null;
  }
  if (running && env.status !== 'running') {
    return {
      status: 'running',
      status_reason: null,
      container_id: r.container_id,
      ...(r.ip ? { target_ip: r.ip } : {}),
    };
  }
  if (!running && env.status === 'running') {
    const crashed = r.exit_code != null && r.exit_code !== 0;
    return crashed
      ? { status: 'failed', status_reason: `the container exited with code ${r.exit_code} while the relay was away` }
      : { status: 'stopped', status_reason: 'the container stopped while the relay was away' };
  }
  if (!running && env.status === 'creating') return { status: 'stopped', container_id: r.container_id };
  return null;
}

/** `environment.idle_stop` → the `environment.idle_stopped` webhook; `*_stop_warning` → `environment.stop_warning`. */
async function notifyAutoStop(deps: Deps, env: EnvRow, event: string, detail: Record<string, unknown> | null) {
  if (event === 'environment.idle_stop') await notifyEnvironment(deps, env, 'environment.idle_stopped', 'idle');
  else if (event.endsWith('_stop_warning')) {
    const at = typeof detail?.stop_at === 'string' ? detail.stop_at : 'soon';
    const kind = event.startsWith('environment.idle') ? 'idle' : 'scheduled';
    await notifyEnvironment(deps, env, 'environment.stop_warning', `${kind} stop at ${at}`);
  }
}

async function ownedEnvIds(deps: Deps, hostId: string, ids: string[]): Promise<Map<string, EnvRow>> {
  if (!ids.length) return new Map();
  const rows = await deps.db
    .select()
    .from(tables.environments)
    .where(and(eq(tables.environments.host_id, hostId), inArray(tables.environments.id, [...new Set(ids)])));
  return new Map(rows.map((r) => [r.id, r]));
}

/** Applies one event from a relay; returns the ids to acknowledge. A relay only ever speaks for its own environments. */
export async function onEvent(
  deps: Deps,
  hostId: string,
  msg: { name: string; id?: string; data: unknown },
): Promise<string[]> {
  switch (msg.name) {
    case EVENT.containerState: {
      const e = ContainerStateEvent.safeParse(msg.data);
      if (!e.success) return [];
      const env = (await ownedEnvIds(deps, hostId, [e.data.environment_id])).get(e.data.environment_id);
      if (!env || env.status === 'deleting' || env.status === 'creating') return [];
      const status = e.data.state === 'running' ? 'running' : e.data.state === 'oom' ? 'failed' : 'stopped';
      if (status !== env.status) {
        await deps.db
          .update(tables.environments)
          .set({ status, status_reason: e.data.reason ?? null, updated_at: Date.now() })
          .where(eq(tables.environments.id, env.id));
        // Stopped on the host (an idle or scheduled stop by the relay, an exit, an OOM kill): billing stops too.
        if (status !== 'running') await closeUsage(deps, env.id);
        await publishRoute(deps, env.id);
        if (status !== 'running')
          await notifyEnvironment(
            deps,
            { ...env, status, status_reason: e.data.reason ?? null },
            status === 'failed' ? 'environment.failed' : 'environment.stopped',
            e.data.reason ?? null,
          );
      }
      return [];
    }
    case EVENT.pullProgress: {
      const e = PullProgressEvent.safeParse(msg.data);
      if (!e.success) return [];
      if (!(await ownedEnvIds(deps, hostId, [e.data.environment_id])).size) return [];
      await bestEffort('pull progress', () =>
        deps.redis.set(redisKeys.progress(e.data.environment_id), JSON.stringify(e.data), { ex: 600 }),
      );
      return [];
    }
    case EVENT.metrics: {
      // Samples of the relay's own environments only, each stored once; acknowledged (ids from the relay's outbox)
      // once handled, a foreign or gone environment's too (nothing to store: the relay may forget them).
      const e = MetricsEvent.safeParse(msg.data);
      if (!e.success) return [];
      const owned = await ownedEnvIds(
        deps,
        hostId,
        e.data.samples.map((s) => s.environment_id),
      );
      await recordMetrics(
        deps,
        hostId,
        e.data.samples.filter((s) => owned.has(s.environment_id)).map(({ id: _id, ...s }) => s),
      );
      return e.data.samples.flatMap((s) => (s.id ? [s.id] : []));
    }
    case EVENT.audit: {
      const e = AuditEventBatch.safeParse(msg.data);
      if (!e.success) return [];
      const owned = await ownedEnvIds(
        deps,
        hostId,
        e.data.events.map((x) => x.environment_id).filter((x): x is string => !!x),
      );
      for (const a of e.data.events) {
        const env = a.environment_id ? owned.get(a.environment_id) : undefined;
        const inserted = await deps.db
          .insert(tables.auditEvents)
          .values({
            timestamp: a.timestamp,
            environment_id: env ? a.environment_id : null,
            type: a.type,
            event: a.event,
            source_ip: a.source_ip,
            username: a.username,
            status: a.status,
            detail: a.detail ?? null,
            user_id: env?.user_id ?? null,
            host_id: hostId,
            dedupe_key: `${hostId}:${a.id}`,
          })
          .onConflictDoNothing()
          .returning({ id: tables.auditEvents.id });
        // The relay's own idle/scheduled stops and their warnings reach the owner's webhooks, once (a re-sent
        // audit event is a duplicate above and inserts nothing).
        if (env && inserted.length)
          await notifyAutoStop(deps, env, a.event, (a.detail ?? null) as Record<string, unknown> | null);
      }
      return e.data.events.map((x) => x.id);
    }
    case EVENT.usage: {
      // Running time from the relay's durable outbox: acked once charged (or known to be nothing to charge).
      const e = UsageReport.safeParse(msg.data);
      if (!e.success) return msg.id ? [msg.id] : [];
      const outcome = await applyUsageReport(deps, hostId, e.data);
      if (outcome.ignored && outcome.ignored !== 'not_newer')
        console.log(
          JSON.stringify({
            level: 'warn',
            msg: 'usage report ignored',
            env_id: e.data.environment_id,
            host_id: hostId,
            why: outcome.ignored,
          }),
        );
      return msg.id ? [msg.id] : [];
    }
    case EVENT.imageProgress:
    case EVENT.imageSaved: {
      const handled = await applyImageEvent(deps, hostId, msg.name, msg.data);
      return handled && msg.id ? [msg.id] : [];
    }
    case EVENT.recording: {
      const stored = await storeRecording(deps, hostId, msg.data);
      return stored && msg.id ? [msg.id] : [];
    }
    default:
      console.log(JSON.stringify({ level: 'warn', msg: 'unknown event ignored', name: msg.name, host_id: hostId }));
      return [];
  }
}
