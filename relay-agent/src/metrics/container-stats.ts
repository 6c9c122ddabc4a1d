// docker stats arithmetic (pure), the same as the docker CLI: CPU % of host cores, memory without page cache, network bytes.
export interface DockerStats {
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
}

export interface ContainerUsage {
  cpu_percent: number;
  memory_used: number;
  memory_limit: number;
  memory_percent: number;
  network_in: number;
  network_out: number;
}

export function containerUsage(s: DockerStats): ContainerUsage {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
  const cpu = cpuDelta > 0 && sysDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0;
  const mem = s.memory_stats ?? {};
  const st = mem.stats ?? {};
  // cgroup v1 reports total_inactive_file, v2 inactive_file: the CLI subtracts whichever exists.
  const cache = st['total_inactive_file'] ?? st['inactive_file'] ?? 0;
  const usage = mem.usage ?? 0;
  const used = cache < usage ? usage - cache : usage;
  const limit = mem.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  return {
    cpu_percent: round(cpu),
    memory_used: used,
    memory_limit: limit,
    memory_percent: limit > 0 ? round((used / limit) * 100) : 0,
    network_in: rx,
    network_out: tx,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
