// Creating a container environment: place it, claim a port, ask the relay, and record the outcome.
import {
  CMD,
  COMMAND_ERROR,
  ContainerCreateResult,
  HostInventory,
  dataVolumeName,
  generateEnvironmentId,
  generatePassword,
  tables,
  type ContainerCreateArgs,
  type CreateEnvironmentRequest,
} from '@remotegpu/schema';
import { and, eq, inArray } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import type { AuthUser } from '../auth/service.ts';
import { encryptSecret, hashPassword } from '../platform/crypto.ts';
import { syncEnvDns } from '../dns/sync.ts';
import { publishRoute } from '../routing/sync.ts';
import { commandError } from '../tunnel/command-errors.ts';
import { sendCommand } from '../tunnel/stub.ts';
import { openUsage } from '../usage/service.ts';
import { guardCreate } from '../billing/hooks.ts';
import { notifyEnvironment } from '../webhooks/environment-events.ts';
import { mayUse } from '../teams/service.ts';
import { sshHostFor } from './access.ts';
import { allocatePort, releasePort } from './ports.ts';
import { fit, pickHost, usedOn, type Placement, type Request } from './scheduler.ts';
import type { EnvRow } from './serialize.ts';
import { unitPrice } from './pricing.ts';

/** Where a new environment goes and what data it mounts (a restore pins the host of the retained volume). */
export interface CreateOptions {
  hostId?: string;
  dataVolume?: string;
  /** A clone: the source environment on the same host, whose container is committed and data volume copied. */
  cloneFrom?: { environmentId: string; volume: string };
  /** The team it belongs to (its members see it, its balance pays); already checked by teamForCreate. */
  teamId?: string | null;
}

export async function newCredentials(deps: Deps) {
  const password = generatePassword();
  return {
    password,
    password_hash: await hashPassword(password, 'env'),
    password_enc: await encryptSecret(deps.config.secretKey, password),
  };
}

export async function setFailed(deps: Deps, id: string, reason: string): Promise<void> {
  const [failed] = await deps.db
    .update(tables.environments)
    .set({ status: 'failed', status_reason: reason.slice(0, 4000), updated_at: Date.now() })
    .where(and(eq(tables.environments.id, id), eq(tables.environments.status, 'creating')))
    .returning();
  if (failed) await notifyEnvironment(deps, failed, 'environment.failed', failed.status_reason);
}

export async function createEnvironment(
  deps: Deps,
  user: AuthUser,
  body: CreateEnvironmentRequest,
  opts: CreateOptions = {},
): Promise<{ env: EnvRow; status: 201 | 202 }> {
  if (body.gpu_model !== undefined && body.gpu_count === 0)
    throw new ApiError(422, 'validation_failed', 'invalid body: gpu_model: needs gpu_count of 1 or more');
  const [image] = await deps.db.select().from(tables.images).where(eq(tables.images.id, body.image_id));
  // Another renter's saved image does not exist for this one (a team's does for its members); usable once pushed.
  const visible =
    image &&
    (image.owner_id === null || (await mayUse(deps, user, { creator: image.owner_id, team_id: image.team_id }, false)));
  if (!image || !visible)
    throw new ApiError(422, 'validation_failed', `invalid body: image_id: no image ${body.image_id}`);
  if (image.status !== 'ready')
    throw new ApiError(409, 'image_not_ready', `image ${image.id} is ${image.status}: it cannot be used yet`);
  await guardCreate(deps, user, body, image, opts.teamId ?? null);
  const creds = await newCredentials(deps);
  const { id, placement } = await reserve(deps, user, body, image.id, creds, opts);
  const args: ContainerCreateArgs = {
    environment_id: id,
    request_id: id,
    owner_id: user.id,
    image: image.docker_ref,
    has_sshd: image.has_sshd,
    gpu_devices: placement.gpuDevices,
    cpu_cores: body.cpu_cores,
    memory_gb: body.memory_gb,
    data_path: image.data_path,
    data_volume: opts.dataVolume ?? dataVolumeName(id),
  };
  const outcome = opts.cloneFrom
    ? await sendCommand(
        deps,
        placement.host.id,
        CMD.containerClone,
        { ...args, source_environment_id: opts.cloneFrom.environmentId, source_volume: opts.cloneFrom.volume },
        deps.config.commandTimeoutMs,
      )
    : await sendCommand(deps, placement.host.id, CMD.containerCreate, args, deps.config.commandTimeoutMs);
  if (!outcome.ok) {
    const { code, message } = outcome.error;
    if (code === COMMAND_ERROR.hostOffline) {
      await setFailed(deps, id, `the relay went offline during create: ${message}`);
      throw commandError('create', outcome.error);
    }
    if (code === COMMAND_ERROR.timeout) {
      // The relay may still finish (a slow image pull): the environment stays `creating`, reconciled by its events.
      const env = await reload(deps, id);
      return { env, status: 202 };
    }
    await setFailed(deps, id, message);
    throw commandError('create', outcome.error);
  }
  const env = await applyCreateResult(deps, id, outcome.data);
  if (!env) throw new ApiError(502, 'create_failed', 'the relay answered create with an invalid result');
  return { env, status: 201 };
}

/**
 * Records a successful create: the container, its address, usage from now, the route at the relay.
 * Also used for results that arrive after the caller stopped waiting (a slow image pull): only an
 * environment still `creating` is changed, so a deleted one is left alone; `adoptFailed` (late results) also takes
 * one the create deadline failed meanwhile, as its container exists after all.
 */
export async function applyCreateResult(
  deps: Deps,
  id: string,
  data: unknown,
  o: { adoptFailed?: boolean } = {},
): Promise<EnvRow | null> {
  const result = ContainerCreateResult.safeParse(data);
  if (!result.success) {
    await setFailed(deps, id, 'the relay answered create with an invalid result');
    return null;
  }
  const now = Date.now();
  const updated = await deps.db
    .update(tables.environments)
    .set({
      status: 'running',
      status_reason: null,
      container_id: result.data.container_id,
      target_ip: result.data.ip,
      target_host_key: result.data.host_key ?? null,
      started_at: now,
      updated_at: now,
    })
    .where(
      and(
        eq(tables.environments.id, id),
        inArray(tables.environments.status, o.adoptFailed ? ['creating', 'failed'] : ['creating']),
      ),
    )
    .returning();
  const env = updated[0];
  if (!env) return null;
  const [image] = env.image_id
    ? await deps.db.select().from(tables.images).where(eq(tables.images.id, env.image_id))
    : [];
  await openUsage(deps, env, 'hourly', unitPrice(image, env.gpu_mode), now);
  await publishRoute(deps, env);
  // The SSH name (`<envid>.ssh.<domain>`) now points at this relay; a DNS failure does not fail the create.
  await syncEnvDns(deps, env.id);
  await notifyEnvironment(deps, env, 'environment.created');
  return env;
}

/** How many times a create that lost GPUs to a concurrent one places itself again. */
const MAX_PLACEMENT_ROUNDS = 16;

type Creds = Awaited<ReturnType<typeof newCredentials>>;

/** Places the environment and writes its row and port; retried when a concurrent create took the same GPUs. */
async function reserve(
  deps: Deps,
  user: AuthUser,
  body: CreateEnvironmentRequest,
  imageId: number,
  creds: Creds,
  opts: CreateOptions,
) {
  for (let attempt = 0; ; attempt++) {
    const placement = opts.hostId ? await placeOn(deps, opts.hostId, body) : await pickHost(deps, body);
    const id = generateEnvironmentId();
    const port = await allocatePort(deps, placement.host.id, id);
    try {
      await deps.db.insert(tables.environments).values({
        id,
        name: body.name,
        type: 'container',
        ssh_host: sshHostFor(deps, id, placement.host),
        ssh_port: port,
        ssh_username: 'root',
        image_id: imageId,
        user_id: user.id,
        team_id: opts.teamId ?? null,
        status: 'creating',
        host_id: placement.host.id,
        gpu_count: body.gpu_count,
        gpu_devices: placement.gpuDevices,
        gpu_model: placement.gpuModel,
        cpu_cores: body.cpu_cores,
        memory_gb: body.memory_gb,
        password_hash: creds.password_hash,
        password_enc: creds.password_enc,
        recording: body.recording ?? false,
        request_id: id,
        data_volume: opts.dataVolume ?? null,
      });
    } catch (err) {
      await releasePort(deps, id);
      throw err;
    }
    if (!placement.gpuDevices.length || !(await lostGpuRace(deps, id, placement.host.id, placement.gpuDevices)))
      return { id, placement };
    await deps.db.delete(tables.environments).where(eq(tables.environments.id, id));
    await releasePort(deps, id);
    // Each round of a burst settles at least one create, so a burst of N needs up to N rounds; jitter spreads them.
    if (attempt >= MAX_PLACEMENT_ROUNDS - 1)
      throw new ApiError(409, 'no_capacity', 'the GPUs this request needs keep being taken; try again');
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
  }
}

/** A placement on one given host (a restore goes where its data is); 503 when it is away, 409 when full. */
export async function placeOn(deps: Deps, hostId: string, req: Request, excludeEnv?: string): Promise<Placement> {
  const [host] = await deps.db.select().from(tables.hosts).where(eq(tables.hosts.id, hostId));
  if (!host || host.status !== 'online')
    throw new ApiError(503, 'host_offline', 'the relay holding this data is offline');
  const inv = HostInventory.safeParse(host.inventory);
  const devices = inv.success
    ? fit(inv.data, await usedOn(deps, hostId, excludeEnv), req, deps.config.cpuOvercommit)
    : null;
  if (!devices) {
    throw new ApiError(
      409,
      req.gpu_count > 0 ? 'gpu_unavailable' : 'no_capacity',
      req.gpu_count > 0
        ? `this host has no ${req.gpu_count} free GPU(s) now: start without GPUs, or try again later`
        : 'this host has no room for this request now',
    );
  }
  const gpuModel =
    devices.length && inv.success ? (inv.data.gpus.find((g) => g.index === devices[0])?.name ?? null) : null;
  return { host, gpuDevices: devices, gpuModel };
}

/**
 * Two creates may pick the same free GPUs at once. Both rows are written first; then the one inserted
 * later (higher rowid) sees the earlier one and yields, so a device never goes to two environments.
 */
export async function lostGpuRace(deps: Deps, id: string, hostId: string, devices: number[]): Promise<boolean> {
  const rows = await deps.database.client.execute({
    sql: `SELECT o.gpu_devices FROM environments o, environments me
          WHERE me.id = ?1 AND o.host_id = ?2 AND o.id <> me.id AND o.rowid < me.rowid
            AND o.status IN ('creating', 'running') AND o.gpu_devices IS NOT NULL`,
    args: [id, hostId],
  });
  const taken = new Set<number>();
  for (const r of rows.rows) for (const d of JSON.parse(String(r[0])) as number[]) taken.add(d);
  return devices.some((d) => taken.has(d));
}

export async function reload(deps: Deps, id: string): Promise<EnvRow> {
  const [env] = await deps.db.select().from(tables.environments).where(eq(tables.environments.id, id));
  if (!env) throw notFound('environment');
  return env;
}
