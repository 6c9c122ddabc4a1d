// Vitest globalSetup for suites that need the test services: `bash scripts/services.sh up` (idempotent, ~0.3 s when up).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const SCRIPT = fileURLToPath(new URL('../scripts/services.sh', import.meta.url));

export default function setup(project: TestProject): void {
  const env = { ...process.env };
  // The console's end-to-end suite needs Chromium and a CJK font too (CI sets this itself).
  if (project.name === 'e2e') env.REMOTEGPU_WITH_CHROMIUM = '1';
  // Only root can start daemons or install packages; anyone may use services that are already up.
  if (process.getuid?.() !== 0 && spawnSync('bash', [SCRIPT, 'status'], { env, stdio: 'ignore' }).status === 0) return;
  const r = spawnSync('bash', [SCRIPT, 'up'], { env, stdio: ['ignore', 'inherit', 'inherit'], timeout: 15 * 60_000 });
  if (r.status !== 0)
    throw new Error(
      `bash scripts/services.sh up failed (exit ${r.status ?? r.signal}): the ${project.name} tests need the test services`,
    );
}
