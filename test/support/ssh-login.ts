// The real OpenSSH client logging in with a password (sshpass), as a renter copies the console's login block.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The console's SSH login block (AccessInfo's fields this needs). */
export interface PasswordAccess {
  ssh_host: string;
  ssh_port: number;
  ssh_username: string;
  ssh_password: string;
}

/**
 * Runs `command` over `ssh -p <port> <user>@<host>` with the password (default: the access info's), no host key
 * check and no keys offered; never throws: `code` is ssh's exit status (-1 when it could not run).
 */
export async function sshPassword(
  a: PasswordAccess,
  command: string,
  password = a.ssh_password,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      'sshpass',
      [
        '-e',
        'ssh',
        '-p',
        String(a.ssh_port),
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'PubkeyAuthentication=no',
        '-o',
        'ConnectTimeout=10',
        '-o',
        'LogLevel=ERROR',
        `${a.ssh_username}@${a.ssh_host}`,
        command,
      ],
      { env: { ...process.env, SSHPASS: password }, timeout: 30_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
