// Signals a `docker exec` process from the host, as sshd signals its sessions: the Engine API cannot signal an exec.
// ExecInspect gives the exec's PID in the host's PID namespace (the relay runs beside the engine, as root). Every
// signal is guarded: the PID must still be in the container's cgroup, so a reused PID is never signalled.
import { constants } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';

/** The signal names SSH's `signal` and `exit-signal` carry (RFC 4254 §6.10), without "SIG". */
const SSH_SIGNALS = new Set([
  'ABRT',
  'ALRM',
  'FPE',
  'HUP',
  'ILL',
  'INT',
  'KILL',
  'PIPE',
  'QUIT',
  'SEGV',
  'TERM',
  'USR1',
  'USR2',
]);

/** "TERM" or "SIGTERM" to Node's "SIGTERM"; null for names SSH does not define (sshd ignores those too). */
export function nodeSignal(sshName: string): NodeJS.Signals | null {
  const name = sshName.toUpperCase().replace(/^SIG/, '');
  return SSH_SIGNALS.has(name) ? (`SIG${name}` as NodeJS.Signals) : null;
}

/** The SSH name of the signal whose number is n, if SSH defines it ("TERM" for 15). */
export function sshSignalName(n: number): string | null {
  for (const name of SSH_SIGNALS) if (constants.signals[`SIG${name}` as NodeJS.Signals] === n) return name;
  return null;
}

export function signalNumber(sig: NodeJS.Signals): number {
  return constants.signals[sig];
}

export interface ProcFs {
  read(path: string): string;
  list(): string[];
}

const hostProc: ProcFs = { read: (p) => readFileSync(p, 'utf8'), list: () => readdirSync('/proc') };

export class ExecSignaller {
  constructor(
    private readonly containerId: string,
    private readonly proc: ProcFs = hostProc,
    private readonly kill: (pid: number, sig: NodeJS.Signals) => boolean = killPid,
  ) {}

  /** True while `pid` is a process of this container. */
  belongs(pid: number): boolean {
    try {
      return pid > 1 && this.proc.read(`/proc/${pid}/cgroup`).includes(this.containerId);
    } catch {
      return false;
    }
  }

  /** Sends `sig` to the exec's process group, as sshd's `signal` request does (killpg of the session's pid). */
  signal(pid: number, sig: NodeJS.Signals): boolean {
    return this.belongs(pid) && (this.kill(-pid, sig) || this.kill(pid, sig));
  }

  /**
   * What a hung-up terminal and sshd's session teardown do: SIGHUP (then SIGCONT, for stopped jobs) to every process
   * of the exec's session. Processes that left the session (`setsid`, tmux's server, daemons) are not touched, and
   * `nohup`ed ones ignore SIGHUP. Returns how many processes were signalled.
   */
  hangUp(pid: number): number {
    if (!this.belongs(pid)) return 0;
    let n = 0;
    for (const entry of this.proc.list()) {
      if (!/^\d+$/.test(entry)) continue;
      const p = Number(entry);
      if (p !== pid && this.sessionOf(p) !== pid) continue;
      if (!this.belongs(p)) continue;
      if (this.kill(p, 'SIGHUP')) n++;
      this.kill(p, 'SIGCONT');
    }
    return n;
  }

  private sessionOf(pid: number): number | null {
    try {
      const stat = this.proc.read(`/proc/${pid}/stat`);
      // pid (comm) state ppid pgrp session ...: comm may hold spaces and parentheses, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[3]);
    } catch {
      return null;
    }
  }
}

function killPid(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
