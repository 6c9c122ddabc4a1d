// Builds the console into web/dist when it is missing or older than its sources (npm start, the e2e tests).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './edge-server.ts';

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newestMtime(join(path, name))), 0);
}

/** Returns true when it had to build. */
export function ensureWebBuilt(): boolean {
  const web = join(REPO_ROOT, 'web');
  const index = join(web, 'dist/index.html');
  // vitest.config.ts writes a placeholder page (no bundle) when the console was never built.
  const built = existsSync(index) && readFileSync(index, 'utf8').includes('/assets/');
  const sources = Math.max(
    ...['src', 'index.html', 'vite.config.ts', 'package.json'].map((p) => newestMtime(join(web, p))),
  );
  if (built && statSync(index).mtimeMs >= sources) return false;
  execFileSync('npm', ['run', 'build', '-w', 'web'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 180_000,
  });
  return true;
}
