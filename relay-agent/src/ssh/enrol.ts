// target.enrol: log in once with the admin's one-time credentials, authorize the platform key, pin the host key, verify.
import net from 'node:net';
import ssh2 from 'ssh2';
import type { ConnectConfig } from 'ssh2';
import { COMMAND_ERROR } from '@remotegpu/schema';
import { keyLine } from './probe.ts';
import { hostKeyMatcher } from './upstream-ssh.ts';

export interface EnrolRequest {
  ip: string;
  port: number;
  username: string;
  password?: string;
  private_key?: string;
  passphrase?: string;
}

export interface PlatformKey {
  publicKey: string;
  privateKey: string;
}

/** Why enrolment failed; `retryable` says whether the same credentials may work later (the machine was unreachable). */
export class EnrolError extends Error {
  override name = 'EnrolError';
  constructor(
    readonly code: (typeof COMMAND_ERROR)[`enrol${'AuthFailed' | 'Unreachable' | 'InstallFailed' | 'VerifyFailed'}`],
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 15_000;

/** `<type> <base64>` of the platform key; refuses anything that could not sit inside single quotes in a shell. */
function keyBody(publicKey: string): string {
  const m = /^([a-z0-9@.-]+) ([A-Za-z0-9+/=]+)(?: .*)?$/.exec(publicKey.trim());
  if (!m) throw new EnrolError(COMMAND_ERROR.enrolInstallFailed, 'the platform public key is not an OpenSSH key line');
  return `${m[1]} ${m[2]}`;
}

/**
 * Appends the key to ~/.ssh/authorized_keys unless it is there (idempotent, POSIX sh, works with busybox). Prints
 * `installed` or `present`. A file without a final newline gets one first, so the key never joins the last line.
 */
export function installScript(publicKey: string): string {
  const body = keyBody(publicKey);
  return [
    'set -e',
    'umask 077',
    'mkdir -p "$HOME/.ssh"',
    'f="$HOME/.ssh/authorized_keys"',
    'touch "$f"',
    `if grep -qF '${body}' "$f"; then echo present; exit 0; fi`,
    'if [ -s "$f" ] && [ -n "$(tail -c 1 "$f")" ]; then echo >> "$f"; fi',
    `printf '%s\\n' '${body} remotegpu-relay' >> "$f"`,
    'echo installed',
  ].join('\n');
}

function connect(
  ip: string,
  port: number,
  cfg: ConnectConfig,
  onAuth?: (c: ssh2.Client) => void,
): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: ip, port });
    sock.setNoDelay(true);
    const client = new ssh2.Client();
    onAuth?.(client);
    let settled = false;
    const fail = (err: EnrolError) => {
      if (settled) return;
      settled = true;
      client.end();
      sock.destroy();
      reject(err);
    };
    sock.on('error', (err) =>
      fail(new EnrolError(COMMAND_ERROR.enrolUnreachable, `cannot reach ${ip}:${port}: ${err.message}`, true)),
    );
    client.on('error', (err: Error & { level?: string }) => {
      if (err.level === 'client-authentication')
        fail(
          new EnrolError(COMMAND_ERROR.enrolAuthFailed, `${ip}:${port} refused the credentials for ${cfg.username}`),
        );
      else fail(new EnrolError(COMMAND_ERROR.enrolUnreachable, `SSH to ${ip}:${port} failed: ${err.message}`, true));
    });
    client.on('ready', () => {
      settled = true;
      resolve(client);
    });
    client.connect({ ...cfg, sock, readyTimeout: TIMEOUT_MS });
  });
}

function exec(client: ssh2.Client, command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new EnrolError(
            COMMAND_ERROR.enrolInstallFailed,
            `the install command did not finish within ${TIMEOUT_MS} ms`,
            true,
          ),
        ),
      TIMEOUT_MS,
    );
    client.exec(command, (err, ch) => {
      if (err) {
        clearTimeout(timer);
        reject(new EnrolError(COMMAND_ERROR.enrolInstallFailed, `cannot run the install command: ${err.message}`));
        return;
      }
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      ch.on('data', (d: Buffer) => {
        stdout += d.toString('utf8');
      });
      ch.stderr.on('data', (d: Buffer) => {
        stderr += d.toString('utf8');
      });
      ch.on('exit', (c: number | null) => {
        code = c;
      });
      ch.on('close', () => {
        clearTimeout(timer);
        resolve({ code, stdout: stdout.slice(0, 4096), stderr: stderr.slice(0, 4096) });
      });
    });
  });
}

/**
 * Logs in with the one-time credentials (trusting the host key it is offered: the admin names the machine, and this is the
 * key pinned from now on), installs the platform key, then logs in again with the platform key and that pinned host key to
 * prove the machine accepts it. The credentials are used for this one connection and never kept.
 */
export async function enrolTarget(
  req: EnrolRequest,
  platform: PlatformKey,
): Promise<{ host_key: string; installed: boolean }> {
  let hostKey: string | null = null;
  const script = installScript(platform.publicKey);
  const first = await connect(
    req.ip,
    req.port,
    {
      username: req.username,
      ...(req.password !== undefined ? { password: req.password, tryKeyboard: true } : {}),
      ...(req.private_key !== undefined
        ? { privateKey: req.private_key, ...(req.passphrase !== undefined ? { passphrase: req.passphrase } : {}) }
        : {}),
      hostVerifier: (blob: Buffer) => {
        hostKey = keyLine(blob);
        return true;
      },
    },
    (c) => {
      // sshd with PAM often offers keyboard-interactive instead of password: answer every prompt with the password.
      const password = req.password;
      if (password !== undefined)
        c.on('keyboard-interactive', (_n, _i, _l, prompts, finish) => finish(prompts.map(() => password)));
    },
  ).catch((err: unknown) => {
    if (err instanceof EnrolError) throw err;
    throw new EnrolError(
      COMMAND_ERROR.enrolUnreachable,
      `SSH to ${req.ip}:${req.port} failed: ${(err as Error).message}`,
      true,
    );
  });
  let installed: boolean;
  try {
    const r = await exec(first, script);
    if (r.code !== 0 || !/^(installed|present)$/m.test(r.stdout)) {
      throw new EnrolError(
        COMMAND_ERROR.enrolInstallFailed,
        `installing the platform key failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim() || 'no output'}`,
      );
    }
    installed = /^installed$/m.test(r.stdout);
  } finally {
    first.end();
  }
  const pinned = hostKey as string | null;
  if (!pinned) throw new EnrolError(COMMAND_ERROR.enrolUnreachable, 'the machine offered no host key', true);
  const matches = hostKeyMatcher(pinned);
  const second = await connect(req.ip, req.port, {
    username: req.username,
    privateKey: platform.privateKey,
    hostVerifier: (k: Buffer) => matches(k),
  }).catch((err: unknown) => {
    const why = err instanceof Error ? err.message : String(err);
    throw new EnrolError(
      COMMAND_ERROR.enrolVerifyFailed,
      `the platform key was installed for ${req.username} but logging in with it failed (does sshd read ~/.ssh/authorized_keys and permit ${req.username}?): ${why}`,
    );
  });
  second.end();
  return { host_key: pinned, installed };
}
