// nvidia-smi CSV parsing (pure) and running it (absent binary → null): the GPU list for the inventory and usage for metrics.
import { execFile } from 'node:child_process';

export interface GpuInfo {
  index: number;
  uuid: string;
  name: string;
  memory_mib: number;
}

export interface GpuUsage {
  index: number;
  uuid: string;
  utilization: number;
  memory_used_mib: number;
  memory_total_mib: number;
}

export const GPU_LIST_QUERY = ['--query-gpu=index,uuid,name,memory.total', '--format=csv'];
export const GPU_USAGE_QUERY = ['--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total', '--format=csv'];

/**
 * Rows of `--format=csv` output keyed by the header's column names without units
 * (`memory.total [MiB]` → `memory.total`). Fields are split on commas; a name with commas is
 * rejoined because only the `name` column may hold one.
 */
function parseCsv(text: string): Record<string, string>[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length === 0) return [];
  const header = lines[0]!.split(',').map((h) => h.trim().replace(/\s*\[.*\]$/, ''));
  const nameCol = header.indexOf('name');
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(1)) {
    let fields = line.split(',').map((f) => f.trim());
    if (fields.length > header.length && nameCol !== -1) {
      const extra = fields.length - header.length;
      const name = fields.slice(nameCol, nameCol + extra + 1).join(', ');
      fields = [...fields.slice(0, nameCol), name, ...fields.slice(nameCol + extra + 1)];
    }
    if (fields.length !== header.length) continue;
    const row: Record<string, string> = {};
    header.forEach((h, i) => {
      row[h] = fields[i]!;
    });
    rows.push(row);
  }
  return rows;
}

/** `24564 MiB`, `35 %`, `24564` → number; `[N/A]`, `[Not Supported]` → null. */
function parseQuantity(value: string | undefined): number | null {
  if (value === undefined) return null;
  const m = /^(-?\d+(?:\.\d+)?)\s*(?:MiB|%|W|MHz)?$/.exec(value.trim());
  return m ? Number(m[1]) : null;
}

export function parseGpuList(csv: string): GpuInfo[] {
  const out: GpuInfo[] = [];
  for (const row of parseCsv(csv)) {
    const index = parseQuantity(row['index']);
    if (index === null || !Number.isInteger(index)) continue;
    out.push({
      index,
      uuid: row['uuid'] ?? '',
      name: row['name'] ?? '',
      memory_mib: parseQuantity(row['memory.total']) ?? 0,
    });
  }
  return out;
}

export function parseGpuUsage(csv: string): GpuUsage[] {
  const out: GpuUsage[] = [];
  for (const row of parseCsv(csv)) {
    const index = parseQuantity(row['index']);
    if (index === null || !Number.isInteger(index)) continue;
    out.push({
      index,
      uuid: row['uuid'] ?? '',
      utilization: parseQuantity(row['utilization.gpu']) ?? 0,
      memory_used_mib: parseQuantity(row['memory.used']) ?? 0,
      memory_total_mib: parseQuantity(row['memory.total']) ?? 0,
    });
  }
  return out;
}

/** Runs nvidia-smi; null when it is not installed or fails (a host without NVIDIA GPUs). */
export type NvidiaSmi = (args: string[]) => Promise<string | null>;

export const runNvidiaSmi: NvidiaSmi = (args) =>
  new Promise((resolve) => {
    execFile('nvidia-smi', args, { timeout: 10_000, maxBuffer: 1024 * 1024 }, (err, stdout) => {
      resolve(err ? null : stdout);
    });
  });
