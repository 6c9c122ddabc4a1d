// Admin: evacuate a drained relay: its stopped container environments are recreated (from their image) on other relays,
// keeping id, name and password; each gets a new SSH port on its new relay and stays stopped until its owner starts it.
import {
  CMD,
  COMMAND_ERROR,
  ContainerCreateResult,
  VolumeUsageResult,
  tables,
  type ContainerCreateArgs,
} from '@remotegpu/schema';
import { and, eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import type { Deps } from '../deps.ts';
import { syncEnvDns } from '../dns/sync.ts';
import { conflict, notFound } from '../errors.ts';
import { sshHostFor } from '../environments/access.ts';
import { lostGpuRace } from '../environments/create.ts';
import { dataVolumeOf } from '../environments/data.ts';
import { allocatePort, releasePort } from '../environments/ports.ts';
import { pickHost } from '../environments/scheduler.ts';
import type { EnvRow } from '../environments/serialize.ts';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { clientIp } from '../lib/request.ts';
import { publishRoute, unpublishRoute } from '../routing/sync.ts';
import { sendCommand } from '../tunnel/stub.ts';

const Moved = z.object({ environment_id: z.string(), host_id: z.string(), ssh_host: z.string(), ssh_port: z.number() });
const Skipped = z.object({ environment_id: z.string(), reason: z.string() });
const EvacuateResult = z.object({ moved: z.array(Moved), skipped: z.array(Skipped) });

class Skip extends Error {}

/**
 * Data volumes do not move between hosts yet (issue 15's volumes are local to their engine): an environment whose data
 * volume holds anything, or whose relay cannot say, stays where it is rather than lose its data. Throws Skip.
 */
async function refuseToDropData(deps: Deps, env: EnvRow): Promise<void> {
  const volume = dataVolumeOf(env);
  const outcome = await sendCommand(deps, env.host_id, CMD.volumeUsage, { volumes: [volume] });
  const parsed = outcome.ok ? VolumeUsageResult.safeParse(outcome.data) : null;
  const usage = parsed?.success ? parsed.data.usage.find((u) => u.volume === volume) : undefined;
  if (!usage || usage.bytes === null)
    throw new Skip(
      'the size of its data volume is unknown (its relay did not answer): it stays so as not to lose data',
    );
  if (usage.bytes > 0)
    throw new Skip(
      `its data volume holds ${usage.bytes} bytes, and data volumes cannot move between hosts yet: save it as an image or clone it first`,
    );
}

/**
 * Moves one stopped environment off its relay; throws Skip (with the reason) when it stays where it was. The row stays
 * `creating` (holding its new GPUs) until `settle`, so that the environments of one evacuation get distinct devices.
 */
async function move(deps: Deps, env: EnvRow): Promise<{ moved: z.infer<typeof Moved>; settle(): Promise<void> }> {
  const [image] = env.image_id
    ? await deps.db.select().from(tables.images).where(eq(tables.images.id, env.image_id))
    : [];
  if (!image) throw new Skip('its image no longer exists: it cannot be recreated');
  await refuseToDropData(deps, env);
  const placement = await pickHost(deps, {
    gpu_count: env.gpu_count,
    gpu_model: env.gpu_model ?? undefined,
    cpu_cores: env.cpu_cores,
    memory_gb: env.memory_gb,
  }).catch((err: Error) => {
    throw new Skip(`no other relay can take it: ${err.message}`);
  });
  // The old container goes first (its relay may be gone: then its next hello removes it as an orphan).
  if (env.container_id) {
    const removed = await sendCommand(deps, env.host_id, CMD.containerRemove, {
      environment_id: env.id,
      container_id: env.container_id,
    });
    if (!removed.ok && removed.error.code !== COMMAND_ERROR.hostOffline)
      throw new Skip(`its container could not be removed: ${removed.error.message}`);
  }
  // Its data volume is empty (refuseToDropData): it goes too, and the new host makes its own under the same name.
  const volumeGone = await sendCommand(deps, env.host_id, CMD.volumeRemove, { volume: dataVolumeOf(env) });
  if (!volumeGone.ok && volumeGone.error.code !== COMMAND_ERROR.hostOffline)
    throw new Skip(`its empty data volume could not be removed: ${volumeGone.error.message}`);
  await unpublishRoute(deps, env);
  await releasePort(deps, env.id);
  const port = await allocatePort(deps, placement.host.id, env.id);
  const requestId = `${env.id}-m${Date.now().toString(36)}`;
  await deps.db
    .update(tables.environments)
    .set({
      host_id: placement.host.id,
      ssh_host: sshHostFor(deps, env.id, placement.host),
      ssh_port: port,
      gpu_devices: placement.gpuDevices,
      gpu_model: placement.gpuModel,
      status: 'creating',
      status_reason: null,
      container_id: null,
      target_ip: '',
      target_host_key: null,
      request_id: requestId,
      updated_at: Date.now(),
    })
    .where(eq(tables.environments.id, env.id));
  const fail = async (reason: string) => {
    await deps.db
      .update(tables.environments)
      .set({ status: 'failed', status_reason: `evacuation failed: ${reason}`.slice(0, 4000), updated_at: Date.now() })
      .where(eq(tables.environments.id, env.id));
    throw new Skip(reason);
  };
  if (placement.gpuDevices.length && (await lostGpuRace(deps, env.id, placement.host.id, placement.gpuDevices)))
    await fail('its GPUs were taken by a concurrent create');
  const args: ContainerCreateArgs = {
    environment_id: env.id,
    request_id: requestId,
    owner_id: env.user_id,
    image: image.docker_ref,
    has_sshd: image.has_sshd,
    gpu_devices: placement.gpuDevices,
    cpu_cores: env.cpu_cores,
    memory_gb: env.memory_gb,
    // The same (empty) data volume name and mount on the new host: refuseToDropData let only empty ones move.
    data_path: image.data_path,
    data_volume: dataVolumeOf(env),
  };
  const created = await sendCommand(deps, placement.host.id, CMD.containerCreate, args);
  if (!created.ok) return fail(created.error.message);
  const result = ContainerCreateResult.safeParse(created.data);
  if (!result.success) return fail('the relay answered create with an invalid result');
  // It was stopped: it stays stopped (and unbilled) until its owner starts it.
  const stopped = await sendCommand(deps, placement.host.id, CMD.containerStop, {
    environment_id: env.id,
    container_id: result.data.container_id,
  });
  await deps.db
    .update(tables.environments)
    .set({ container_id: result.data.container_id, target_host_key: result.data.host_key ?? null })
    .where(eq(tables.environments.id, env.id));
  return {
    moved: {
      environment_id: env.id,
      host_id: placement.host.id,
      ssh_host: sshHostFor(deps, env.id, placement.host),
      ssh_port: port,
    },
    async settle() {
      const [fresh] = await deps.db
        .update(tables.environments)
        .set({
          status: stopped.ok ? 'stopped' : 'running',
          target_ip: stopped.ok ? '' : result.data.ip,
          updated_at: Date.now(),
        })
        .where(eq(tables.environments.id, env.id))
        .returning();
      if (fresh) await publishRoute(deps, fresh);
      // Its SSH name now points at the new relay (a no-op without Cloudflare DNS).
      await syncEnvDns(deps, env.id);
    },
  };
}

export function registerEvacuateEndpoint(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/admin/hosts/:id/evacuate',
      summary: "Move a drained relay's stopped containers to other relays (same id, name, password; new port)",
      tag: 'admin',
      auth: 'admin',
      response: EvacuateResult,
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const [host] = await deps.db.select().from(tables.hosts).where(eq(tables.hosts.id, params.id));
      if (!host) throw notFound('host');
      if (!host.drained)
        throw conflict('host_not_drained', 'drain the relay first (PATCH /api/v1/admin/hosts/:id {"drained": true})');
      const envs = await deps.db
        .select()
        .from(tables.environments)
        .where(and(eq(tables.environments.host_id, host.id), eq(tables.environments.type, 'container')));
      const out: z.infer<typeof EvacuateResult> = { moved: [], skipped: [] };
      const settles: (() => Promise<void>)[] = [];
      for (const env of envs) {
        if (env.status !== 'stopped') {
          if (env.status !== 'deleting' && env.status !== 'failed')
            out.skipped.push({ environment_id: env.id, reason: `it is ${env.status}: only stopped ones move` });
          continue;
        }
        try {
          const { moved: m, settle } = await move(deps, env);
          out.moved.push(m);
          settles.push(settle);
          await recordAudit(deps, {
            event: 'environment.evacuate',
            status: 'success',
            user_id: env.user_id,
            actor_id: user.id,
            environment_id: env.id,
            host_id: m.host_id,
            type: 'container',
            source_ip: clientIp(c),
            detail: { from: host.id, to: m.host_id, ssh_port: m.ssh_port },
          });
        } catch (err) {
          if (!(err instanceof Skip)) throw err;
          out.skipped.push({ environment_id: env.id, reason: err.message });
        }
      }
      for (const settle of settles) await settle();
      return c.json(out);
    },
  );
}
