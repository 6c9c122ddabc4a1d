// What `scripts/services.sh up` started (its env.json): the one reader for `npm start`, the tests and the benchmarks.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function servicesDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.REMOTEGPU_SERVICES_DIR || '/tmp/remotegpu-services';
}

/** `$REMOTEGPU_SERVICES_DIR/env.json` (DOCKER_HOST, test images, the physical sshd...), or null when the services were never brought up. */
export function readServicesEnv(dir = servicesDir()): Record<string, string | undefined> | null {
  const file = join(dir, 'env.json');
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string | undefined>;
}
