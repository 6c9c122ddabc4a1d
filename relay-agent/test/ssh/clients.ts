// Command lines for the renter clients the matrix drives (PuTTY's plink, dropbear's dbclient, paramiko, git over ssh).
import { join } from 'node:path';
import type { Harness, Run } from './harness.ts';
import { run } from './harness.ts';

const PARAMIKO = join(import.meta.dirname, 'clients', 'paramiko_client.py');

/** The relay's host key fingerprints (SHA256:...), for plink's -hostkey. */
export async function relayFingerprints(h: Harness): Promise<string[]> {
  const r = await run('ssh-keygen', ['-l', '-f', h.knownHosts]);
  return [...r.stdout.matchAll(/SHA256:\S+/g)].map((m) => m[0]);
}

export function plink(
  fps: string[],
  port: number,
  password: string,
  args: string[],
  o: { input?: string; timeoutMs?: number } = {},
): Promise<Run> {
  const keys = fps.flatMap((f) => ['-hostkey', f]);
  return run(
    'plink',
    [
      '-ssh',
      '-batch',
      '-no-antispoof',
      ...keys,
      '-P',
      String(port),
      '-l',
      'root',
      '-pw',
      password,
      ...args.slice(0, -1),
      '127.0.0.1',
      args.at(-1)!,
    ],
    o,
  );
}

export function dbclient(
  port: number,
  password: string,
  args: string[],
  o: { input?: string; timeoutMs?: number } = {},
): Promise<Run> {
  // -y -y: no host key check (the relay's key is pinned by the OpenSSH tests); the password comes from the environment.
  return run('dbclient', ['-y', '-y', '-p', String(port), ...args.slice(0, -1), 'root@127.0.0.1', args.at(-1)!], {
    ...o,
    env: { DROPBEAR_PASSWORD: password },
  });
}

export function paramiko(port: number, password: string, args: string[]): Promise<Run> {
  return run('/usr/bin/python3', [PARAMIKO, String(port), password, ...args], { timeoutMs: 60_000 });
}
