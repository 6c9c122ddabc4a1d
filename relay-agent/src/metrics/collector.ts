// Samples every environment on an interval (docker stats, nvidia-smi, physical reachability) into ResourceMetrics.
import type Dockerode from 'dockerode';
import type { ResourceMetrics } from '@remotegpu/schema';
import type { Logger, RouteTable } from '../contracts.ts';
import { LABEL, ownFilters } from '../docker/labels.ts';
import { GPU_USAGE_QUERY, parseGpuUsage } from '../inventory/nvidia-smi.ts';
import type { GpuUsage, NvidiaSmi } from '../inventory/nvidia-smi.ts';
import { containerUsage } from './container-stats.ts';
import type { DockerStats } from './container-stats.ts';
import { probeTcp } from './reachability.ts';

export interface MetricsOptions {
  docker: Dockerode;
  routes: RouteTable;
  nvidiaSmi: NvidiaSmi;
  log: Logger;
  /** This relay's identity on the engine (relayIdOf): other relays' containers on a shared engine are theirs to sample. */
  relayId?: string;
  send(samples: ResourceMetrics[]): void;
  intervalMs?: number;
  now?: () => Date;
}

const CONCURRENCY = 8;

export class MetricsCollector {
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;
  /** Container id → the GPU ids (indices or UUIDs) it was given; fixed for a container's life. */
  private readonly gpuIds = new Map<string, string[]>();

  constructor(private readonly o: MetricsOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs ?? 10_000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.busy) return; // a slow engine must not pile samples up
    this.busy = true;
    try {
      const samples = await this.collect();
      if (samples.length > 0) this.o.send(samples);
    } catch (err) {
      this.o.log.warn('metrics sample failed', { err });
    } finally {
      this.busy = false;
    }
  }

  async collect(): Promise<ResourceMetrics[]> {
    const [containers, physical] = await Promise.all([this.containers(), this.physical()]);
    return [...containers, ...physical];
  }

  private async containers(): Promise<ResourceMetrics[]> {
    const list = await this.o.docker.listContainers({
      filters: { label: ownFilters(this.o.relayId), status: ['running'] },
    });
    const live = new Set(list.map((c) => c.Id));
    for (const id of this.gpuIds.keys()) if (!live.has(id)) this.gpuIds.delete(id);
    const gpuCsv = list.length > 0 ? await this.o.nvidiaSmi(GPU_USAGE_QUERY) : null;
    const gpus = gpuCsv ? parseGpuUsage(gpuCsv) : [];
    const out: ResourceMetrics[] = [];
    for (let i = 0; i < list.length; i += CONCURRENCY) {
      const batch = await Promise.all(
        list.slice(i, i + CONCURRENCY).map((c) =>
          this.sample(c, gpus).catch((err: unknown) => {
            this.o.log.debug('stats of a container failed', { env_id: c.Labels[LABEL.env], err });
            return null;
          }),
        ),
      );
      for (const s of batch) if (s) out.push(s);
    }
    return out;
  }

  private async sample(c: Dockerode.ContainerInfo, gpus: GpuUsage[]): Promise<ResourceMetrics> {
    const container = this.o.docker.getContainer(c.Id);
    const stats = (await container.stats({ stream: false })) as unknown as DockerStats;
    const u = containerUsage(stats);
    const mine = gpusOf(await this.deviceIds(container, c.Id), gpus);
    return {
      environment_id: c.Labels[LABEL.env]!,
      type: 'container',
      timestamp: (this.o.now?.() ?? new Date()).toISOString(),
      cpu_usage: u.cpu_percent,
      memory_usage: u.memory_percent,
      gpu_usage:
        mine.length > 0 ? Math.round((mine.reduce((a, g) => a + g.utilization, 0) / mine.length) * 100) / 100 : 0,
      network_in: u.network_in,
      network_out: u.network_out,
      memory_used: u.memory_used,
      memory_limit: u.memory_limit,
      gpus: mine.map((g) => ({
        index: g.index,
        utilization: g.utilization,
        memory_used: g.memory_used_mib,
        memory_total: g.memory_total_mib,
      })),
    };
  }

  private async deviceIds(container: Dockerode.Container, id: string): Promise<string[]> {
    const known = this.gpuIds.get(id);
    if (known) return known;
    const info = await container.inspect();
    const reqs =
      (info.HostConfig as { DeviceRequests?: { DeviceIDs?: string[] | null }[] | null }).DeviceRequests ?? [];
    const ids = reqs.flatMap((r) => r.DeviceIDs ?? []);
    this.gpuIds.set(id, ids);
    return ids;
  }

  private async physical(): Promise<ResourceMetrics[]> {
    const routes = this.o.routes.all().filter((r) => r.type === 'physical');
    return Promise.all(
      routes.map(async (r) => {
        const ip = r.target?.kind === 'ssh' ? r.target.ip : r.target_ip;
        const port = r.target?.kind === 'ssh' ? r.target.port : 22;
        const probe = await probeTcp(ip, port);
        return {
          environment_id: r.environment_id,
          type: 'physical' as const,
          timestamp: (this.o.now?.() ?? new Date()).toISOString(),
          cpu_usage: 0,
          memory_usage: 0,
          gpu_usage: 0,
          network_in: 0,
          network_out: 0,
          reachable: probe.reachable,
          rtt_ms: probe.rtt_ms,
        };
      }),
    );
  }
}

/** The usage rows of the GPUs a container was given (by index or by UUID, as Docker's DeviceIDs allow both). */
export function gpusOf(deviceIds: readonly string[], usage: readonly GpuUsage[]): GpuUsage[] {
  return usage.filter((g) => deviceIds.includes(String(g.index)) || (g.uuid !== '' && deviceIds.includes(g.uuid)));
}
