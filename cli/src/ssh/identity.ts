// The CLI's SSH identity: an ed25519 key of its own (made with ssh-keygen on first use) or --identity, on the account.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ApiClient } from '../api.ts';
import { ensureDir, type Paths } from '../config.ts';
import { CliError, EXIT } from '../errors.ts';
import { t } from '../i18n.ts';
import { info } from '../output.ts';

function run(program: string, args: string[]): string {
  try {
    return execFileSync(program, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(t('err.noSsh', { program }), EXIT.other);
    throw new CliError(`${program} failed: ${String((err as { stderr?: string }).stderr ?? err).trim()}`);
  }
}

/** The private key's path and its public key line; the CLI's own key is made when missing. */
export function identity(p: Paths, given?: string): { path: string; publicKey: string } {
  if (given) {
    if (!existsSync(given)) throw new CliError(`no such identity file: ${given}`, EXIT.usage);
    const pub = `${given}.pub`;
    const publicKey = existsSync(pub) ? readFileSync(pub, 'utf8') : run('ssh-keygen', ['-y', '-f', given]);
    return { path: given, publicKey: publicKey.trim() };
  }
  if (!existsSync(p.identity)) {
    ensureDir(p.dir);
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `remotegpu-cli@${hostname()}`, '-f', p.identity]);
    info(t('key.created', { path: p.identity }));
  }
  return { path: p.identity, publicKey: readFileSync(`${p.identity}.pub`, 'utf8').trim() };
}

/** Adds the public key to the account unless it is there (the edge pushes account keys to the relays). */
export async function registerKey(api: ApiClient, publicKey: string): Promise<boolean> {
  const blob = publicKey.split(/\s+/)[1];
  const { items } = await api.call<{ items: { public_key: string }[] }>('GET', '/api/v1/ssh-keys');
  if (items.some((k) => k.public_key.split(/\s+/)[1] === blob)) return false;
  await api.call('POST', '/api/v1/ssh-keys', { name: `cli on ${hostname()}`.slice(0, 100), public_key: publicKey });
  info(t('key.registered'));
  return true;
}
