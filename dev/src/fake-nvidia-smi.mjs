#!/usr/bin/env node
// A test stand-in for nvidia-smi (no GPUs on this machine): answers `--query-gpu=... --format=csv[,noheader][,nounits]`,
// `-L` and a bare call from the JSON file named by REMOTEGPU_FAKE_GPU_FILE, in the real tool's text formats.
//
// The file: {"driver_version": "550.54.15", "gpus": [{"uuid": "GPU-...", "name": "NVIDIA GeForce RTX 4090",
//   "memory_mib": 24564, "memory_used_mib": 0, "utilization": 0, "temperature_c": 34, "power_w": 21.5,
//   "power_limit_w": 450}]}; a GPU's index is its position. dev/src/fake-gpus.ts writes it.
import { readFileSync } from 'node:fs';

const file = process.env.REMOTEGPU_FAKE_GPU_FILE;
if (!file) {
  process.stderr.write('fake nvidia-smi: REMOTEGPU_FAKE_GPU_FILE is not set\n');
  process.exit(9);
}
const data = JSON.parse(readFileSync(file, 'utf8'));
const gpus = data.gpus.map((g, index) => ({ index, ...g }));

/** Field → [header unit, value of a GPU]: the units and spellings nvidia-smi prints. */
const FIELDS = {
  index: ['', (g) => String(g.index)],
  uuid: ['', (g) => g.uuid],
  name: ['', (g) => g.name],
  'pci.bus_id': ['', (g) => `00000000:${(0x18 + g.index * 0x10).toString(16).toUpperCase().padStart(2, '0')}:00.0`],
  driver_version: ['', () => data.driver_version ?? '550.54.15'],
  'memory.total': ['MiB', (g) => `${g.memory_mib} MiB`],
  'memory.used': ['MiB', (g) => `${g.memory_used_mib ?? 0} MiB`],
  'memory.free': ['MiB', (g) => `${g.memory_mib - (g.memory_used_mib ?? 0)} MiB`],
  'utilization.gpu': ['%', (g) => `${g.utilization ?? 0} %`],
  'utilization.memory': ['%', (g) => `${Math.round(((g.memory_used_mib ?? 0) / g.memory_mib) * 100)} %`],
  'temperature.gpu': ['', (g) => String(g.temperature_c ?? 30)],
  'power.draw': ['W', (g) => `${(g.power_w ?? 20).toFixed(2)} W`],
  'power.limit': ['W', (g) => `${(g.power_limit_w ?? 300).toFixed(2)} W`],
};

const args = process.argv.slice(2);
const query = args.find((a) => a.startsWith('--query-gpu='));
if (query) {
  const format = (args.find((a) => a.startsWith('--format=')) ?? '').slice('--format='.length).split(',');
  if (!format.includes('csv')) {
    process.stderr.write('fake nvidia-smi: only --format=csv is implemented\n');
    process.exit(2);
  }
  const names = query.slice('--query-gpu='.length).split(',');
  for (const n of names) {
    if (!FIELDS[n]) {
      process.stdout.write(`Field "${n}" is not a valid field to query.\n\n`);
      process.exit(2);
    }
  }
  const nounits = format.includes('nounits');
  const lines = [];
  if (!format.includes('noheader'))
    lines.push(names.map((n) => (FIELDS[n][0] && !nounits ? `${n} [${FIELDS[n][0]}]` : n)).join(', '));
  for (const g of gpus) {
    lines.push(
      names
        .map((n) => {
          const v = FIELDS[n][1](g);
          return nounits ? v.replace(/ (MiB|%|W)$/, '') : v;
        })
        .join(', '),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} else if (args.includes('-L') || args.includes('--list-gpus')) {
  process.stdout.write(gpus.map((g) => `GPU ${g.index}: ${g.name} (UUID: ${g.uuid})\n`).join(''));
} else if (args.length === 0) {
  const rows = gpus.map(
    (g) =>
      `| ${String(g.index).padEnd(3)} ${g.name.padEnd(30)} | ${String(g.temperature_c ?? 30).padStart(3)}C ${String(Math.round(g.power_w ?? 20)).padStart(4)}W / ${String(g.power_limit_w ?? 300).padStart(4)}W | ${String(g.memory_used_mib ?? 0).padStart(6)}MiB / ${String(g.memory_mib).padStart(6)}MiB | ${String(g.utilization ?? 0).padStart(3)}% |`,
  );
  process.stdout.write(
    `NVIDIA-SMI (fake, REMOTEGPU_FAKE_GPU_FILE=${file})   Driver Version: ${data.driver_version ?? '550.54.15'}\n${rows.join('\n')}\n`,
  );
} else {
  process.stderr.write(`fake nvidia-smi: unsupported arguments: ${args.join(' ')}\n`);
  process.exit(2);
}
