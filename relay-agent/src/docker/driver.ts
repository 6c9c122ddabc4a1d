// The Docker driver: create/start/stop/restart/remove of environment containers, idempotent by request id.
import type Dockerode from 'dockerode';
import {
  COMMAND_ERROR,
  dataVolumeName,
  type ContainerActionArgs,
  type ContainerCreateArgs,
  type ContainerCreateResult,
  type ContainerCloneArgs,
  type ContainerRecreateArgs,
  type ContainerReport,
} from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';
import { CommandFailure } from '../tunnel/dispatcher.ts';
import { buildCreateOptions } from './container-spec.ts';
import { dockerMessage, statusCode } from './errors.ts';
import { execCapture } from './exec.ts';
import { ensureImage } from './image.ts';
import type { PullProgress } from './image.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { LABEL, containerName, ownFilters, ownerNetworkName } from './labels.ts';
import { ensureOwnerNetwork, removeOwnerNetworkIfEmpty } from './network.ts';
import { commitSystem, copyVolume, pruneSystemImages } from './system-image.ts';
import { ensureDataVolume, removeDataVolume, volumeSizes } from './volumes.ts';

/** Where the data volume is mounted when the edge does not say (an older edge). */
const DEFAULT_DATA_PATH = '/root/data';

interface GpuFacts {
  nvidiaRuntime: boolean;
  indices: number[];
}

export interface DriverOptions {
  docker: Dockerode;
  log: Logger;
  platformPublicKey: string;
  /** This relay's identity on the engine (relayIdOf): only its own containers are listed and acted on. */
  relayId?: string;
  /** What this host can give (from the inventory). */
  gpus(): Promise<GpuFacts>;
  onPullProgress(environmentId: string, image: string, p: PullProgress): void;
  /** How long to wait for an sshd image to write its host key. */
  hostKeyTimeoutMs?: number;
}

export interface ActionResult {
  state: string;
  ip: string | null;
}

export class DockerDriver {
  private readonly envLock = new KeyedMutex();
  private readonly ownerLock = new KeyedMutex();

  constructor(private readonly o: DriverOptions) {}

  create(args: ContainerCreateArgs): Promise<ContainerCreateResult> {
    return this.envLock.run(args.environment_id, () => this.createLocked(args));
  }

  private async createLocked(args: ContainerCreateArgs): Promise<ContainerCreateResult> {
    const log = this.o.log.child({ env_id: args.environment_id, request_id: args.request_id });
    await this.checkGpus(args.gpu_devices);
    const existing = await this.findByEnv(args.environment_id);
    if (existing) {
      if (existing.Labels[LABEL.request] !== args.request_id) {
        throw new CommandFailure(
          'env_exists',
          `environment ${args.environment_id} already has container ${existing.Id.slice(0, 12)} from another request: remove it first`,
        );
      }
      log.info('create retried: returning the existing container', { container_id: existing.Id });
      return this.finishCreate(args, this.o.docker.getContainer(existing.Id), log);
    }
    const image = await ensureImage(this.o.docker, args.image, (p) =>
      this.o.onPullProgress(args.environment_id, args.image, p),
    );
    const data = {
      volume: args.data_volume ?? dataVolumeName(args.environment_id),
      path: args.data_path ?? DEFAULT_DATA_PATH,
    };
    await ensureDataVolume(this.o.docker, data.volume, {
      environmentId: args.environment_id,
      ownerId: args.owner_id,
      relayId: this.o.relayId,
    });
    const container = await this.ownerLock.run(args.owner_id, async () => {
      const network = await ensureOwnerNetwork(this.o.docker, args.owner_id, log);
      const opts = buildCreateOptions({
        args,
        network,
        platformPublicKey: this.o.platformPublicKey,
        image,
        relayId: this.o.relayId,
        data,
      });
      return this.o.docker.createContainer(opts);
    });
    log.info('container created', { container_id: container.id });
    try {
      return await this.finishCreate(args, container, log);
    } catch (err) {
      // A container that never ran is of no use to the renter: take it away, and report why.
      log.warn('container failed to start: removing it', { container_id: container.id, err });
      await container.remove({ force: true }).catch(() => {});
      await this.ownerLock
        .run(args.owner_id, () => removeOwnerNetworkIfEmpty(this.o.docker, args.owner_id, log))
        .catch(() => {});
      if (err instanceof CommandFailure) throw err;
      throw new CommandFailure('start_failed', `the container did not start: ${dockerMessage(err)}`, false);
    }
  }

  /**
   * Replaces the environment's container; the data volume stays. Docker cannot change a container's image or its
   * device requests (`docker update` covers CPU and memory only), so a GPU-mode change commits the container's
   * filesystem first (`keep_system`) and starts the new container from that commit: the renter's installed packages
   * and files outside the data path come along. The commit stays local (`remotegpu-system/<env>`), older ones go.
   */
  recreate(args: ContainerRecreateArgs): Promise<ContainerCreateResult> {
    return this.envLock.run(args.environment_id, async () => {
      const log = this.o.log.child({ env_id: args.environment_id, request_id: args.request_id });
      await this.checkGpus(args.gpu_devices);
      const existing = await this.findByEnv(args.environment_id);
      if (existing?.Labels[LABEL.request] === args.request_id) {
        log.info('recreate retried: returning the existing container', { container_id: existing.Id });
        return this.finishCreate(args, this.o.docker.getContainer(existing.Id), log);
      }
      let image = args.image;
      if (existing && args.keep_system) {
        image = await commitSystem(this.o.docker, existing.Id, args.environment_id);
        log.info('container committed for re-creation', { container_id: existing.Id, image });
      }
      if (existing) {
        await this.o.docker.getContainer(existing.Id).remove({ force: true, v: true });
        log.info('old container removed (data volume kept)', { container_id: existing.Id });
      }
      const result = await this.createLocked({ ...args, image });
      await pruneSystemImages(this.o.docker, args.environment_id, args.keep_system ? image : null);
      return result;
    });
  }

  /** A new environment from another one on this host: a commit of its container and a copy of its data volume. */
  clone(args: ContainerCloneArgs): Promise<ContainerCreateResult> {
    return this.envLock.run(args.environment_id, async () => {
      const log = this.o.log.child({ env_id: args.environment_id, source_env_id: args.source_environment_id });
      const existing = await this.findByEnv(args.environment_id);
      if (existing) return this.finishCreate(args, this.o.docker.getContainer(existing.Id), log);
      const source = await this.findByEnv(args.source_environment_id);
      if (!source)
        throw new CommandFailure('not_found', `environment ${args.source_environment_id} has no container here`);
      const image = await commitSystem(this.o.docker, source.Id, args.environment_id);
      const volume = args.data_volume ?? dataVolumeName(args.environment_id);
      await ensureDataVolume(this.o.docker, volume, {
        environmentId: args.environment_id,
        ownerId: args.owner_id,
        relayId: this.o.relayId,
      });
      await copyVolume(this.o.docker, image, args.source_volume, volume);
      log.info('environment cloned: system committed, data copied', { image, volume });
      return this.createLocked({ ...args, image });
    });
  }

  /** When the environment's container last started (epoch ms); null when it has none or it is not running. */
  async startedAt(environmentId: string): Promise<number | null> {
    const found = await this.findByEnv(environmentId);
    if (!found || found.State !== 'running') return null;
    const info = await this.o.docker.getContainer(found.Id).inspect();
    const t = Date.parse(info.State.StartedAt);
    return Number.isFinite(t) ? t : null;
  }

  /** Removes a data volume (once its environment's container is gone). */
  removeVolume(volume: string): Promise<void> {
    return removeDataVolume(this.o.docker, volume, this.o.relayId);
  }

  /** Data volume sizes in bytes (null: unknown, e.g. the volume is gone). */
  async volumeUsage(volumes: string[]): Promise<{ volume: string; bytes: number | null }[]> {
    const sizes = await volumeSizes(this.o.docker, volumes);
    return volumes.map((volume) => ({ volume, bytes: sizes.get(volume) ?? null }));
  }

  private async finishCreate(
    args: ContainerCreateArgs,
    container: Dockerode.Container,
    log: Logger,
  ): Promise<ContainerCreateResult> {
    await startIfNeeded(container);
    const info = await container.inspect();
    const ip = ipOn(info, ownerNetworkName(args.owner_id));
    const hostKey = args.has_sshd ? await this.readHostKey(container, log) : null;
    return { container_id: info.Id, ip: ip ?? '', host_key: hostKey };
  }

  async start(args: ContainerActionArgs): Promise<ActionResult> {
    return this.envLock.run(args.environment_id, async () => {
      const c = await this.resolve(args);
      await startIfNeeded(c);
      return this.describe(c);
    });
  }

  async stop(args: ContainerActionArgs): Promise<ActionResult> {
    return this.envLock.run(args.environment_id, async () => {
      const c = await this.resolve(args);
      try {
        await c.stop({ t: 10 });
      } catch (err) {
        if (statusCode(err) !== 304) throw err;
      }
      return this.describe(c);
    });
  }

  async restart(args: ContainerActionArgs): Promise<ActionResult> {
    return this.envLock.run(args.environment_id, async () => {
      const c = await this.resolve(args);
      await c.restart({ t: 10 });
      return this.describe(c);
    });
  }

  /**
   * Removes the environment's container and its anonymous volumes; already gone counts as done. The
   * environment label decides, not the container id: the environment is going away, whatever it runs.
   */
  async remove(args: ContainerActionArgs): Promise<ActionResult> {
    return this.envLock.run(args.environment_id, async () => {
      const found = await this.findByEnv(args.environment_id);
      if (!found) return { state: 'removed', ip: null };
      const owner = found.Labels[LABEL.owner];
      try {
        await this.o.docker.getContainer(found.Id).remove({ force: true, v: true });
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
      }
      if (owner) await this.ownerLock.run(owner, () => removeOwnerNetworkIfEmpty(this.o.docker, owner, this.o.log));
      await pruneSystemImages(this.o.docker, args.environment_id, null).catch((err: unknown) =>
        this.o.log.warn('could not remove the system commits', { env_id: args.environment_id, err }),
      );
      return { state: 'removed', ip: null };
    });
  }

  /** Every container this agent manages, as reported in the hello for reconciliation. */
  async reports(): Promise<ContainerReport[]> {
    const list = await this.o.docker.listContainers({ all: true, filters: { label: ownFilters(this.o.relayId) } });
    const out: ContainerReport[] = [];
    for (const c of list) {
      const env = c.Labels[LABEL.env];
      if (!env) continue;
      const owner = c.Labels[LABEL.owner];
      const ip = owner ? c.NetworkSettings?.Networks?.[ownerNetworkName(owner)]?.IPAddress || null : null;
      let exitCode: number | null = null;
      if (c.State !== 'running')
        exitCode = await this.o.docker
          .getContainer(c.Id)
          .inspect()
          .then(
            (i) => i.State.ExitCode,
            () => null,
          );
      out.push({
        environment_id: env,
        container_id: c.Id,
        state: c.State,
        exit_code: exitCode,
        ip: c.State === 'running' ? ip : null,
      });
    }
    return out;
  }

  private async checkGpus(devices: number[]): Promise<void> {
    if (devices.length === 0) return;
    const facts = await this.o.gpus();
    if (!facts.nvidiaRuntime) {
      throw new CommandFailure(
        COMMAND_ERROR.gpuUnavailable,
        `GPUs ${devices.join(',')} requested, but this host's Docker has no NVIDIA runtime (install the NVIDIA Container Toolkit)`,
      );
    }
    const missing = devices.filter((d) => !facts.indices.includes(d));
    if (missing.length > 0) {
      throw new CommandFailure(
        COMMAND_ERROR.gpuUnavailable,
        `GPU ${missing.join(',')} requested, but this host has ${facts.indices.length === 0 ? 'no GPUs' : `GPUs ${facts.indices.join(',')}`}`,
      );
    }
  }

  private async findByEnv(environmentId: string): Promise<Dockerode.ContainerInfo | undefined> {
    const list = await this.o.docker.listContainers({
      all: true,
      filters: { label: ownFilters(this.o.relayId, [`${LABEL.env}=${environmentId}`]) },
    });
    return list.find((c) => c.Names.includes(`/${containerName(environmentId)}`)) ?? list[0];
  }

  /** The environment's container; a container id that is not this environment's is refused. */
  private async resolve(args: ContainerActionArgs): Promise<Dockerode.Container> {
    const found = await this.findByEnv(args.environment_id);
    if (!found || (args.container_id && !found.Id.startsWith(args.container_id))) {
      throw new CommandFailure(
        'not_found',
        `environment ${args.environment_id} has no container${args.container_id ? ` ${args.container_id.slice(0, 12)}` : ''} on this host`,
      );
    }
    return this.o.docker.getContainer(found.Id);
  }

  private async describe(c: Dockerode.Container): Promise<ActionResult> {
    const info = await c.inspect();
    const owner = info.Config.Labels?.[LABEL.owner];
    return { state: info.State.Status, ip: info.State.Running && owner ? ipOn(info, ownerNetworkName(owner)) : null };
  }

  /** sshd images may generate their host key at start: poll briefly. */
  private async readHostKey(c: Dockerode.Container, log: Logger): Promise<string | null> {
    const deadline = Date.now() + (this.o.hostKeyTimeoutMs ?? 10_000);
    while (Date.now() < deadline) {
      const r = await execCapture(this.o.docker, c, ['cat', '/etc/ssh/ssh_host_ed25519_key.pub']).catch(() => null);
      const m = r && r.code === 0 ? /^(ssh-ed25519 [A-Za-z0-9+/=]+)/m.exec(r.stdout) : null;
      if (m) return m[1]!;
      const state = await c.inspect().then(
        (i) => i.State.Running,
        () => false,
      );
      if (!state) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    log.warn('could not read the container sshd host key: it will not be pinned');
    return null;
  }
}

async function startIfNeeded(c: Dockerode.Container): Promise<void> {
  try {
    await c.start();
  } catch (err) {
    if (statusCode(err) !== 304) throw err;
  }
}

function ipOn(info: Dockerode.ContainerInspectInfo, network: string): string | null {
  return info.NetworkSettings.Networks[network]?.IPAddress || null;
}
