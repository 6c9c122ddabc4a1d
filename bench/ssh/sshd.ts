// A private OpenSSH sshd for the benchmark (own address, keys and config), run in the foreground as our child.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface BenchSshd {
  host: string;
  port: number;
  clientKey: string;
  knownHosts: string;
  hostKeyLine: string;
  /** CPU seconds (user + system) of sshd and every session process it has reaped so far, from /proc. */
  cpuSeconds(): number;
  /** Resolves once sshd has no child left (the sessions of a finished transfer reaped), or after 2 s. */
  settled(): Promise<void>;
  stop(): void;
}

const CLK_TCK = 100; // Linux USER_HZ

/** utime + stime + cutime + cstime of `pid` in seconds (fields 14-17 of /proc/<pid>/stat); `sys`: the system part. */
export function procCpu(pid: number): { total: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): utime is field 14, so f[11].
  const [ut, st, cut, cst] = [11, 12, 13, 14].map((i) => Number(f[i]));
  return { total: (ut! + st! + cut! + cst!) / CLK_TCK, sys: (st! + cst!) / CLK_TCK };
}

export async function startSshd(dir: string, host: string, port: number, extraKeys: string[]): Promise<BenchSshd> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  for (const f of [hostKey, clientKey])
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f], { input: 'y\n' });
  writeFileSync(
    join(dir, 'authorized_keys'),
    [readFileSync(`${clientKey}.pub`, 'utf8').trim(), ...extraKeys].join('\n') + '\n',
  );
  const hostKeyLine = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[${host}]:${port} ${hostKeyLine}\n`);
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `ListenAddress ${host}:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'MaxStartups 200:30:400',
      'Subsystem sftp /usr/lib/openssh/sftp-server',
      'PrintMotd no',
      'PrintLastLog no',
      'UseDNS no',
      '',
    ].join('\n'),
  );
  spawnSync('install', ['-d', '-m', '755', '/run/sshd']);
  // bash run by sshd sources ~/.bashrc even for `ssh host cmd`; this machine's root has pyenv init there, ~0.1 s of
  // CPU and a dozen processes per login, which the benchmark would count as sshd's cost (and as the relay's login
  // latency). sshd runs in a mount namespace of its own where that file is an empty one: no change to the machine.
  const sshdArgs = ['-D', '-f', join(dir, 'sshd_config'), '-E', join(dir, 'sshd.log')];
  const rc = join(homedir(), '.bashrc');
  let child: ChildProcess;
  if (existsSync(rc)) {
    const empty = join(dir, 'empty-bashrc');
    writeFileSync(empty, '');
    // unshare and sh exec in place: child.pid is sshd's.
    child = spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        'mount --bind "$0" "$1" && shift && exec "$@"',
        empty,
        rc,
      ].concat(['/usr/sbin/sshd', ...sshdArgs]),
      { stdio: 'ignore' },
    );
  } else child = spawn('/usr/sbin/sshd', sshdArgs, { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = spawnSync('bash', ['-c', `exec 3<>/dev/tcp/${host}/${port}`]).status === 0;
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  // A benchmark that fails midway must not leave its sshd holding the port for the next run.
  process.once('exit', () => child.kill('SIGTERM'));
  const pid = child.pid!;
  const children = () => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return {
    host,
    port,
    clientKey,
    knownHosts,
    hostKeyLine,
    cpuSeconds: () => procCpu(pid).total,
    async settled() {
      for (let i = 0; i < 100 && children() !== ''; i++) await new Promise((r) => setTimeout(r, 20));
    },
    stop: () => void child.kill('SIGTERM'),
  };
}
