// Re-creating an environment's container with its data volume kept: another image, or another GPU mode (无卡模式).
import {
  CMD,
  ContainerCreateResult,
  generateEnvironmentId,
  tables,
  type ContainerRecreateArgs,
} from '@remotegpu/schema';
import { eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { publishRoute } from '../routing/sync.ts';
import { commandError } from '../tunnel/command-errors.ts';
import { sendCommand } from '../tunnel/stub.ts';
import { closeUsage, openUsage } from '../usage/service.ts';
import { placeOn, reload } from './create.ts';
import { dataVolumeOf } from './data.ts';
import { unitPrice } from './pricing.ts';
import type { EnvRow } from './serialize.ts';

type ImageRow = typeof tables.images.$inferSelect;

interface Plan {
  image: ImageRow;
  /** Keep the container's system files (a commit of it) rather than start from the image. */
  keepSystem: boolean;
  mode: 'gpu' | 'none';
  gpuDevices: number[];
  cpuCores: number;
  memoryGb: number;
}

const RECREATABLE: EnvRow['status'][] = ['running', 'stopped', 'failed'];

async function imageRow(deps: Deps, id: number | null): Promise<ImageRow> {
  const [image] = id === null ? [] : await deps.db.select().from(tables.images).where(eq(tables.images.id, id));
  if (!image) throw new ApiError(409, 'invalid_state', 'the environment has no image to re-create from');
  return image;
}

function checkRecreatable(env: EnvRow): void {
  if (env.type !== 'container') throw new ApiError(409, 'not_supported', 'only container environments are re-created');
  if (!RECREATABLE.includes(env.status))
    throw new ApiError(409, 'invalid_state', `cannot re-create an environment that is ${env.status}`);
}

/** The environment with a new image: a new container from it, the same data volume, SSH port and password. */
export async function changeImage(deps: Deps, env: EnvRow, image: ImageRow): Promise<EnvRow> {
  checkRecreatable(env);
  const devices = env.gpu_mode === 'none' ? [] : (env.gpu_devices ?? []);
  return recreate(deps, env, {
    image,
    keepSystem: false,
    mode: env.gpu_mode,
    gpuDevices: devices,
    ...sizes(deps, env, env.gpu_mode),
  });
}

/**
 * Starts a stopped environment with GPUs (`gpu: true`) or without (`gpu: false`, 无卡模式: no device requests, the
 * operator's small CPU/memory share, the no-GPU price). A change of mode re-creates the container from a commit of
 * it (Docker cannot change a container's device requests); returns null when the mode is already the one asked
 * for, so that the caller does a plain start. Going back to GPUs needs free GPUs on this host: 409 `gpu_unavailable`.
 */
export async function startInMode(deps: Deps, env: EnvRow, gpu: boolean): Promise<EnvRow | null> {
  const mode = gpu ? 'gpu' : 'none';
  if (env.gpu_mode === mode) return null;
  checkRecreatable(env);
  if (env.status === 'running')
    throw new ApiError(409, 'invalid_state', 'stop the environment before starting it in another mode');
  const image = await imageRow(deps, env.image_id);
  let gpuDevices: number[] = [];
  if (mode === 'gpu' && env.gpu_count > 0) {
    const placement = await placeOn(
      deps,
      env.host_id,
      {
        gpu_count: env.gpu_count,
        gpu_model: env.gpu_model ?? undefined,
        cpu_cores: env.cpu_cores,
        memory_gb: env.memory_gb,
      },
      env.id,
    );
    gpuDevices = placement.gpuDevices;
  }
  return recreate(deps, env, { image, keepSystem: true, mode, gpuDevices, ...sizes(deps, env, mode) });
}

function sizes(deps: Deps, env: EnvRow, mode: 'gpu' | 'none') {
  return mode === 'none'
    ? { cpuCores: deps.config.noGpuCpuCores, memoryGb: deps.config.noGpuMemoryGb }
    : { cpuCores: env.cpu_cores, memoryGb: env.memory_gb };
}

async function recreate(deps: Deps, env: EnvRow, plan: Plan): Promise<EnvRow> {
  const requestId = generateEnvironmentId();
  const args: ContainerRecreateArgs = {
    environment_id: env.id,
    request_id: requestId,
    owner_id: env.user_id,
    image: plan.image.docker_ref,
    has_sshd: plan.image.has_sshd,
    gpu_devices: plan.gpuDevices,
    cpu_cores: plan.cpuCores,
    memory_gb: plan.memoryGb,
    data_path: plan.image.data_path,
    data_volume: dataVolumeOf(env),
    keep_system: plan.keepSystem,
  };
  const outcome = await sendCommand(deps, env.host_id, CMD.containerRecreate, args, deps.config.commandTimeoutMs);
  if (!outcome.ok) throw commandError('recreate', outcome.error);
  const result = ContainerCreateResult.safeParse(outcome.data);
  if (!result.success) throw new ApiError(502, 'recreate_failed', 'the relay answered with an invalid result');
  const now = Date.now();
  await closeUsage(deps, env.id, now);
  await deps.db
    .update(tables.environments)
    .set({
      status: 'running',
      status_reason: null,
      container_id: result.data.container_id,
      target_ip: result.data.ip,
      target_host_key: result.data.host_key ?? null,
      request_id: requestId,
      image_id: plan.image.id,
      gpu_mode: plan.mode,
      // In no-GPU mode the devices are released for others; cpu_cores/memory_gb keep the GPU-mode sizes to return to.
      gpu_devices: plan.gpuDevices,
      started_at: now,
      updated_at: now,
    })
    .where(eq(tables.environments.id, env.id));
  const fresh = await reload(deps, env.id);
  await openUsage(deps, fresh, 'hourly', unitPrice(plan.image, plan.mode), now);
  await publishRoute(deps, fresh);
  return fresh;
}
