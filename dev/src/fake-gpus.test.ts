import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectInventory } from '../../relay-agent/src/inventory/inventory.ts';
import {
  GPU_LIST_QUERY,
  GPU_USAGE_QUERY,
  parseGpuList,
  parseGpuUsage,
  runNvidiaSmi,
} from '../../relay-agent/src/inventory/nvidia-smi.ts';
import { parseFakeGpus, writeFakeGpus, type FakeGpuHost } from './fake-gpus.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

describe('fake nvidia-smi', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fake-gpus-'));
  let host: FakeGpuHost;
  const savedPath = process.env.PATH;

  beforeAll(async () => {
    host = await writeFakeGpus(dir, 'host-a', parseFakeGpus('4090:2,H100:8'));
    // The agent finds it as it would find the real one: first on its PATH.
    process.env.PATH = `${host.binDir}:${savedPath}`;
  });
  afterAll(() => {
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the inventory query as nvidia-smi does, parsed by the agent', async () => {
    const csv = await runNvidiaSmi(GPU_LIST_QUERY);
    expect(csv?.split('\n')[0]).toBe('index, uuid, name, memory.total [MiB]');
    const gpus = parseGpuList(csv!);
    expect(gpus.map((g) => `${g.index} ${g.name} ${g.memory_mib}`)).toEqual([
      '0 NVIDIA GeForce RTX 4090 24564',
      '1 NVIDIA GeForce RTX 4090 24564',
      ...[2, 3, 4, 5, 6, 7, 8, 9].map((i) => `${i} NVIDIA H100 80GB HBM3 81559`),
    ]);
    expect(new Set(gpus.map((g) => g.uuid)).size).toBe(10);
    expect(gpus[0]!.uuid).toMatch(/^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('answers the metrics query from the JSON file, which a test may change', async () => {
    const data = JSON.parse(readFileSync(host.file, 'utf8'));
    data.gpus[3].utilization = 87;
    data.gpus[3].memory_used_mib = 40_000;
    writeFileSync(host.file, JSON.stringify(data));
    const usage = parseGpuUsage((await runNvidiaSmi(GPU_USAGE_QUERY))!);
    expect(usage[3]).toMatchObject({ index: 3, utilization: 87, memory_used_mib: 40_000, memory_total_mib: 81559 });
    expect(usage[0]).toMatchObject({ utilization: 0, memory_used_mib: 0 });
  });

  it('speaks the other common forms: noheader/nounits, temperature and power, -L; refuses unknown fields', () => {
    const smi = join(host.binDir, 'nvidia-smi');
    const out = execFileSync(smi, [
      '--query-gpu=index,temperature.gpu,power.draw,utilization.gpu',
      '--format=csv,noheader,nounits',
    ]).toString();
    expect(out.split('\n')[0]).toMatch(/^0, \d+, \d+\.\d\d, 0$/);
    expect(execFileSync(smi, ['-L']).toString()).toMatch(/^GPU 0: NVIDIA GeForce RTX 4090 \(UUID: GPU-/);
    expect(() => execFileSync(smi, ['--query-gpu=bogus', '--format=csv'], { stdio: 'pipe' })).toThrow();
  });

  it('the inventory reports the NVIDIA runtime only under --fake-gpus (the engine here has none)', async () => {
    const docker = {
      info: async () => ({ ServerVersion: '20.10.24', Runtimes: { runc: {} } }),
      version: async () => ({}),
    };
    const base = { docker: docker as never, stateDir: dir, nvidiaSmi: runNvidiaSmi, log: silent };
    const plain = await collectInventory(base);
    expect(plain.gpus).toHaveLength(10);
    expect(plain.nvidia_runtime).toBe(false);
    expect((await collectInventory({ ...base, fakeGpus: true })).nvidia_runtime).toBe(true);
  });

  it('names models exactly or by a unique part', () => {
    expect(parseFakeGpus('NVIDIA L40S:1')).toEqual([{ model: 'NVIDIA L40S', count: 1 }]);
    expect(() => parseFakeGpus('NVIDIA:2')).toThrow(/must name one of/);
    expect(() => parseFakeGpus('4090')).toThrow(/MODEL:COUNT/);
  });
});
