// OpenSSH's ssh/scp for one environment: the identity, the pinned host keys and the alias, and the run itself.
import { spawn } from 'node:child_process';
import type { OwnerAccessInfo } from '@remotegpu/schema';
import { CliError, EXIT } from '../errors.ts';
import { t } from '../i18n.ts';

export interface Target {
  alias: string;
  access: OwnerAccessInfo;
  identityFile: string;
  knownHostsFile: string;
}

/** `-o` options shared by ssh and scp: key only, no password prompt, host keys from our known_hosts. */
export function sshOptions(tg: Target): string[] {
  const o: Record<string, string> = {
    IdentitiesOnly: 'yes',
    HostKeyAlias: tg.alias,
    // ssh splits an -o value at blanks unless quoted (a home folder may have a space).
    UserKnownHostsFile: `"${tg.knownHostsFile}"`,
    // Without keys from the relay there is nothing to pin: trust the first key seen, as ssh would ask to.
    StrictHostKeyChecking: tg.access.ssh_host_keys.length ? 'yes' : 'accept-new',
    PasswordAuthentication: 'no',
    KbdInteractiveAuthentication: 'no',
    // Right after `create` the relay may still be opening the environment's port: retry a refused connect.
    ConnectionAttempts: '3',
  };
  return ['-i', tg.identityFile, ...Object.entries(o).flatMap(([k, v]) => ['-o', `${k}=${v}`])];
}

export function destination(tg: Target): string {
  return `${tg.access.ssh_username}@${tg.access.ssh_host}`;
}

/** Runs an OpenSSH program with the terminal passed through; resolves with its exit status. */
export function runOpenSsh(program: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: 'inherit' });
    // The child owns the terminal: Ctrl-C goes to it, and the CLI waits for it to end.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    child.on('error', (err: NodeJS.ErrnoException) => {
      process.off('SIGINT', ignore);
      reject(err.code === 'ENOENT' ? new CliError(t('err.noSsh', { program }), EXIT.other) : err);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1));
    });
  });
}
