// The loopback "physical machine" of scripts/services.sh as `npm start` uses it: where it is, and authorizing a relay's key.
import { existsSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readServicesEnv, servicesDir } from './services-env.ts';

export interface PhysicalSshd {
  dir: string;
  host: string;
  port: number;
  /** `[host]:port <type> <base64>`: the host key OpenSSH pins for it. */
  knownHosts: string;
}

export { servicesDir };

/** The physical sshd from `$REMOTEGPU_SERVICES_DIR/env.json`, or null when the test services were never brought up. */
export function physicalSshd(dir = servicesDir()): PhysicalSshd | null {
  const env = readServicesEnv(dir);
  if (!env?.REMOTEGPU_PHYSICAL_HOST || !env.REMOTEGPU_PHYSICAL_PORT || !env.REMOTEGPU_PHYSICAL_KNOWN_HOSTS) return null;
  return {
    dir: join(dir, 'physical'),
    host: env.REMOTEGPU_PHYSICAL_HOST,
    port: Number(env.REMOTEGPU_PHYSICAL_PORT),
    knownHosts: env.REMOTEGPU_PHYSICAL_KNOWN_HOSTS,
  };
}

async function appendLineOnce(file: string, line: string): Promise<boolean> {
  const body = line.trim().split(/\s+/).slice(0, 2).join(' ');
  const text = existsSync(file) ? await readFile(file, 'utf8') : '';
  if (text.split('\n').some((l) => l.trim().split(/\s+/).slice(0, 2).join(' ') === body)) return false;
  await appendFile(file, `${text && !text.endsWith('\n') ? '\n' : ''}${line.trim()}\n`, { mode: 0o600 });
  return true;
}

/**
 * Authorizes a relay's platform key for root on the physical sshd, at once (authorized_keys, read at each login) and
 * for good (enrolled_keys, which every `services.sh up` folds back into authorized_keys). Idempotent.
 */
export async function authorizeOnPhysical(p: PhysicalSshd, publicKey: string): Promise<void> {
  await appendLineOnce(join(p.dir, 'enrolled_keys'), publicKey);
  await appendLineOnce(join(p.dir, 'authorized_keys'), publicKey);
}

/** Undoes `authorizeOnPhysical` (tests clean up after themselves). */
export async function revokeOnPhysical(p: PhysicalSshd, publicKey: string): Promise<void> {
  const body = publicKey.trim().split(/\s+/).slice(0, 2).join(' ');
  for (const f of ['enrolled_keys', 'authorized_keys'].map((n) => join(p.dir, n))) {
    if (!existsSync(f)) continue;
    const kept = (await readFile(f, 'utf8'))
      .split('\n')
      .filter((l) => l.trim() && l.trim().split(/\s+/).slice(0, 2).join(' ') !== body);
    await writeFile(f, kept.length ? `${kept.join('\n')}\n` : '', { mode: 0o600 });
  }
}
