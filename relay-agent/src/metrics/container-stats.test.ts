import { describe, expect, it } from 'vitest';
import { containerUsage } from './container-stats.ts';

describe('docker stats arithmetic', () => {
  it('computes CPU % like the docker CLI, memory without inactive file cache, summed network bytes', () => {
    const u = containerUsage({
      cpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 20_000_000_000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 1_000_000_000 }, system_cpu_usage: 18_000_000_000 },
      memory_stats: { usage: 300 * 2 ** 20, limit: 2 ** 30, stats: { inactive_file: 100 * 2 ** 20 } },
      networks: { eth0: { rx_bytes: 1000, tx_bytes: 200 }, eth1: { rx_bytes: 5, tx_bytes: 6 } },
    });
    expect(u).toEqual({
      cpu_percent: 100,
      memory_used: 200 * 2 ** 20,
      memory_limit: 2 ** 30,
      memory_percent: 19.53,
      network_in: 1005,
      network_out: 206,
    });
  });

  it('reads cgroup v1 cache and survives missing fields', () => {
    expect(
      containerUsage({ memory_stats: { usage: 50, limit: 100, stats: { total_inactive_file: 10 } } }).memory_used,
    ).toBe(40);
    expect(containerUsage({})).toEqual({
      cpu_percent: 0,
      memory_used: 0,
      memory_limit: 0,
      memory_percent: 0,
      network_in: 0,
      network_out: 0,
    });
  });
});
