// Placement arithmetic: which GPU devices a request gets on a host, and when a host has no room.
import type { HostInventory } from '@remotegpu/schema';
import { describe, expect, it } from 'vitest';
import { comparePlacement, fit } from './scheduler.ts';

const GiB = 1024 ** 3;
const host = (gpus: number, cpu = 16, memGb = 64): HostInventory => ({
  cpu_cores: cpu,
  memory_bytes: memGb * GiB,
  docker_version: '28',
  nvidia_runtime: true,
  gpus: Array.from({ length: gpus }, (_, i) => ({ index: i, uuid: `GPU-${i}`, name: 'RTX 4090', memory_mib: 24564 })),
});
const none = { cpu: 0, mem: 0, gpus: new Set<number>() };

describe('fit', () => {
  it('gives the lowest free device indexes', () => {
    expect(fit(host(4), none, { gpu_count: 2, cpu_cores: 4, memory_gb: 8 })).toEqual([0, 1]);
    expect(
      fit(host(4), { cpu: 4, mem: 8, gpus: new Set([0, 2]) }, { gpu_count: 2, cpu_cores: 4, memory_gb: 8 }),
    ).toEqual([1, 3]);
    expect(fit(host(0), none, { gpu_count: 0, cpu_cores: 1, memory_gb: 1 })).toEqual([]);
  });

  it('never hands out a device twice or more devices than exist', () => {
    expect(
      fit(host(4), { cpu: 0, mem: 0, gpus: new Set([0, 1, 2]) }, { gpu_count: 2, cpu_cores: 1, memory_gb: 1 }),
    ).toBeNull();
    expect(fit(host(2), none, { gpu_count: 3, cpu_cores: 1, memory_gb: 1 })).toBeNull();
  });

  it('counts CPU cores (with overcommit) and whole GiB of memory', () => {
    expect(fit(host(0, 8), { ...none, cpu: 6 }, { gpu_count: 0, cpu_cores: 3, memory_gb: 1 })).toBeNull();
    expect(fit(host(0, 8), { ...none, cpu: 6 }, { gpu_count: 0, cpu_cores: 3, memory_gb: 1 }, 2)).toEqual([]);
    expect(fit(host(0, 8, 16), { ...none, mem: 15 }, { gpu_count: 0, cpu_cores: 1, memory_gb: 2 })).toBeNull();
    expect(
      fit({ ...host(0, 8), memory_bytes: 16 * GiB - 1 }, none, { gpu_count: 0, cpu_cores: 1, memory_gb: 16 }),
    ).toBeNull();
  });
});

describe('fit by model and placement policy', () => {
  const mixed: HostInventory = {
    ...host(0),
    gpus: [
      { index: 0, uuid: 'a', name: 'NVIDIA GeForce RTX 4090', memory_mib: 24564 },
      { index: 1, uuid: 'b', name: 'NVIDIA H100 80GB HBM3', memory_mib: 81559 },
      { index: 2, uuid: 'c', name: 'NVIDIA H100 80GB HBM3', memory_mib: 81559 },
    ],
  };

  it('gives devices of the model asked for (any case), never mixing models', () => {
    const req = { gpu_count: 2, cpu_cores: 1, memory_gb: 1 };
    expect(fit(mixed, none, { ...req, gpu_model: 'nvidia h100 80gb hbm3' })).toEqual([1, 2]);
    expect(fit(mixed, none, { ...req, gpu_model: 'NVIDIA GeForce RTX 4090' })).toBeNull();
    expect(fit(mixed, none, req)).toEqual([1, 2]); // any model: one with enough free
    expect(fit(mixed, { ...none, gpus: new Set([2]) }, req)).toBeNull();
  });

  it('pack prefers the fullest host, spread the emptiest; ties go to the older host', () => {
    const full = { gpus: 1, cpu: 8, created_at: 2 };
    const empty = { gpus: 8, cpu: 8, created_at: 1 };
    expect(comparePlacement('pack', full, empty)).toBeLessThan(0);
    expect(comparePlacement('spread', full, empty)).toBeGreaterThan(0);
    expect(comparePlacement('pack', { ...full, created_at: 1 }, { ...full, created_at: 2 })).toBeLessThan(0);
    expect(comparePlacement('spread', { ...full, created_at: 1 }, { ...full, created_at: 2 })).toBeLessThan(0);
  });
});
