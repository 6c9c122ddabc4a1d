// `npm run bench`: every benchmark in turn (each checks its own tools first); not part of CI.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../dev/src/edge-server.ts';

const BENCHES = ['bench/ssh/run.ts', 'bench/apps/run.ts', 'bench/faults/hostile.ts'];

let failed = 0;
for (const b of BENCHES) {
  console.error(`\n=== ${b} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, b)], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`${b}: exit ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
