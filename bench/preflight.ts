// Benchmarks check what they compare against before they start, and say how to get what is missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Tool {
  /** What is looked for: a command on PATH, or an absolute file path. */
  need: string;
  /** The Debian package that brings it. */
  pkg: string;
}

const SETUP = 'bash scripts/services.sh up --bench';

function present(need: string): boolean {
  if (need.startsWith('/')) return existsSync(need);
  return spawnSync('sh', ['-c', `command -v ${need}`], { stdio: 'ignore' }).status === 0;
}

/** Exits the process with a readable list (and the command that installs them) when any tool is missing. */
export function requireTools(bench: string, tools: Tool[]): void {
  const missing = tools.filter((t) => !present(t.need));
  if (!missing.length) return;
  console.error(`${bench}: missing ${missing.map((t) => `${t.need} (Debian package ${t.pkg})`).join(', ')}`);
  console.error(`install and start what the benchmarks need with: ${SETUP}`);
  process.exit(2);
}
