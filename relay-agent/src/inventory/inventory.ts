// The host inventory sent in every hello: CPU, memory, disk of the state dir, GPUs (nvidia-smi), Docker version and runtime.
import { statfs } from 'node:fs/promises';
import { cpus, hostname, totalmem } from 'node:os';
import type Dockerode from 'dockerode';
import type { HostInventory } from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';
import { GPU_LIST_QUERY, parseGpuList } from './nvidia-smi.ts';
import type { NvidiaSmi } from './nvidia-smi.ts';

export interface InventoryDeps {
  docker: Pick<Dockerode, 'info' | 'version'>;
  stateDir: string;
  nvidiaSmi: NvidiaSmi;
  log: Logger;
  /** Test only (--fake-gpus): report the NVIDIA runtime as present whatever Docker says. */
  fakeGpus?: boolean;
}

export async function collectInventory(deps: InventoryDeps): Promise<HostInventory> {
  const [gpuCsv, dockerInfo, disk] = await Promise.all([
    deps.nvidiaSmi(GPU_LIST_QUERY),
    dockerFacts(deps),
    statfs(deps.stateDir).then(
      (s) => s.blocks * s.bsize,
      () => undefined,
    ),
  ]);
  return {
    cpu_cores: cpus().length,
    memory_bytes: totalmem(),
    ...(disk === undefined ? {} : { disk_bytes: disk }),
    gpus: gpuCsv ? parseGpuList(gpuCsv) : [],
    docker_version: dockerInfo.version,
    nvidia_runtime: dockerInfo.nvidia || (deps.fakeGpus === true && dockerInfo.version !== null),
    hostname: hostname(),
  };
}

async function dockerFacts(deps: InventoryDeps): Promise<{ version: string | null; nvidia: boolean }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // A hung engine must not hold up the hello: the inventory then goes without Docker's facts.
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('docker info took over 5 s')), 5000);
    });
    const info = (await Promise.race([deps.docker.info(), hung])) as {
      ServerVersion?: string;
      Runtimes?: Record<string, unknown>;
    };
    return { version: info.ServerVersion ?? null, nvidia: Boolean(info.Runtimes && 'nvidia' in info.Runtimes) };
  } catch (err) {
    deps.log.warn('Docker engine not reachable for the inventory', { err });
    return { version: null, nvidia: false };
  } finally {
    clearTimeout(timer);
  }
}
