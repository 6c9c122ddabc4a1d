// Fake GPU inventories for test hosts: a JSON file and a folder holding an `nvidia-smi` that answers from it.
import { createHash } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './edge-server.ts';

/** Memory (MiB) and power limit (W) of the models a fake host may carry, as nvidia-smi reports them. */
const MODELS: Record<string, { memory_mib: number; power_limit_w: number }> = {
  'NVIDIA GeForce RTX 4090': { memory_mib: 24564, power_limit_w: 450 },
  'NVIDIA H100 80GB HBM3': { memory_mib: 81559, power_limit_w: 700 },
  'NVIDIA A100-SXM4-80GB': { memory_mib: 81920, power_limit_w: 400 },
  'NVIDIA L40S': { memory_mib: 46068, power_limit_w: 350 },
};
export const FAKE_GPU_MODELS = Object.keys(MODELS);

/** `{ model: 'NVIDIA H100 80GB HBM3', count: 8 }`: a host's GPUs, indices in the order given. */
export interface FakeGpuGroup {
  model: string;
  count: number;
}

export interface FakeGpuHost {
  /** Put first on the agent's PATH: it holds `nvidia-smi`. */
  binDir: string;
  /** The JSON the fake reads (edit it to change utilisation, memory, temperature, power). */
  file: string;
}

/**
 * Writes `<dir>/gpus.json` and `<dir>/bin/nvidia-smi` for a host named `seed` (UUIDs derive from it, so
 * they differ between hosts). Unknown models throw: the scheduler matches models by their exact name.
 */
export async function writeFakeGpus(dir: string, seed: string, groups: FakeGpuGroup[]): Promise<FakeGpuHost> {
  const gpus: Record<string, unknown>[] = [];
  for (const g of groups) {
    const m = MODELS[g.model];
    if (!m) throw new Error(`unknown fake GPU model "${g.model}" (known: ${FAKE_GPU_MODELS.join(', ')})`);
    for (let i = 0; i < g.count; i++) {
      const h = createHash('sha256').update(`${seed}/${gpus.length}`).digest('hex');
      gpus.push({
        uuid: `GPU-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`,
        name: g.model,
        memory_mib: m.memory_mib,
        memory_used_mib: 0,
        utilization: 0,
        temperature_c: 31 + (gpus.length % 5),
        power_w: 20 + (gpus.length % 7),
        power_limit_w: m.power_limit_w,
      });
    }
  }
  const binDir = join(dir, 'bin');
  await mkdir(binDir, { recursive: true });
  const file = join(dir, 'gpus.json');
  await writeFile(file, `${JSON.stringify({ driver_version: '550.54.15', gpus }, null, 2)}\n`);
  const smi = join(binDir, 'nvidia-smi');
  const script = join(REPO_ROOT, 'dev/src/fake-nvidia-smi.mjs');
  await writeFile(
    smi,
    `#!/bin/sh\n# Fake nvidia-smi for a test host (dev/src/fake-gpus.ts).\nREMOTEGPU_FAKE_GPU_FILE='${file}' exec '${process.execPath}' '${script}' "$@"\n`,
  );
  await chmod(smi, 0o755);
  return { binDir, file };
}

/** `"NVIDIA GeForce RTX 4090:2,NVIDIA H100 80GB HBM3:8"` (or `4090:2`, a unique part of the name) → groups. */
export function parseFakeGpus(spec: string): FakeGpuGroup[] {
  if (!spec.trim()) return [];
  return spec.split(',').map((part) => {
    const m = /^(.+):(\d+)$/.exec(part.trim());
    if (!m) throw new Error(`fake GPUs: "${part}" is not MODEL:COUNT`);
    const matches = FAKE_GPU_MODELS.filter((n) => n === m[1] || n.includes(m[1]!));
    if (matches.length !== 1)
      throw new Error(`fake GPUs: "${m[1]}" must name one of ${FAKE_GPU_MODELS.join(', ')} (or a unique part)`);
    return { model: matches[0]!, count: Number(m[2]) };
  });
}
