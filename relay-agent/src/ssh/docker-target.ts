// Target kind 'docker': `docker exec` into a container without sshd (PTY + resize, exit codes, signals and hang-up, sftp via its sftp-server).
import net from 'node:net';
import { Writable } from 'node:stream';
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Logger } from '../contracts.ts';
import { demux } from './demux.ts';
import { ExecSignaller, nodeSignal, signalNumber, sshSignalName } from './exec-signals.ts';
import type { ExitInfo, StartRequest, Target, TargetProcess } from './target.ts';
import { TargetError } from './target.ts';

const SFTP_SERVERS = ['/usr/lib/openssh/sftp-server', '/usr/lib/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/libexec/sftp-server'];
const NO_SFTP = 'remotegpu: this environment has no sftp-server: install openssh-sftp-server in its image to use sftp and scp';
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

/** Quotes a string for /bin/sh. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function command(req: StartRequest): string[] {
  const home = 'cd "$HOME" 2>/dev/null; ';
  if (req.kind === 'exec') return ['/bin/sh', '-c', `${home}exec /bin/sh -c ${sq(req.arg)}`];
  if (req.kind === 'shell') return ['/bin/sh', '-c', `${home}if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l`];
  if (req.arg !== 'sftp') throw new TargetError(`remotegpu: subsystem ${req.arg} is not available`);
  const tries = SFTP_SERVERS.map((p) => `[ -x ${p} ] && exec ${p}`).join('; ');
  return ['/bin/sh', '-c', `${home}${tries}; echo ${sq(NO_SFTP)} >&2; exit 1`];
}

export interface DockerTargetOptions {
  docker: Dockerode;
  containerId: string;
  /** The container's IP for `ssh -L`, if the route carries it; otherwise it is looked up. */
  ip: string | null;
  user: string;
  log: Logger;
}

export class DockerExecTarget implements Target {
  constructor(private readonly o: DockerTargetOptions) {}

  async start(req: StartRequest): Promise<TargetProcess> {
    const container = this.o.docker.getContainer(this.o.containerId);
    const tty = req.pty !== null && req.kind !== 'subsystem';
    const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
    if (tty) env.push(`TERM=${req.pty?.term || 'xterm'}`);
    let exec: Dockerode.Exec;
    try {
      exec = await container.exec({
        Cmd: command(req),
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: tty,
        Env: env,
        User: this.o.user,
        ...(tty && req.pty ? { ConsoleSize: [req.pty.rows, req.pty.cols] as [number, number] } : {}),
      });
    } catch (err) {
      this.o.log.warn('docker exec create failed', { container: this.o.containerId, error: String(err) });
      throw new TargetError(/is not running/.test(String(err)) ? 'the environment is not running' : 'cannot start a process in the environment');
    }
    const sock = await exec.start({ hijack: true, stdin: true, Tty: tty });
    // Listen for the end before any other await: a command that exits at once may close the stream meanwhile.
    const ended = new Promise<void>((resolve) => {
      if (sock.destroyed || sock.readableEnded) resolve();
      sock.once('close', () => resolve());
      sock.once('end', () => resolve());
    });
    sock.on('error', () => undefined);
    if (sock instanceof net.Socket) sock.setNoDelay(true);
    // ConsoleSize at create is not applied by every Engine version: set the size once it runs, too.
    if (tty && req.pty) await exec.resize({ h: req.pty.rows, w: req.pty.cols }).catch(() => undefined);
    const out = tty ? { stdout: sock, stderr: null } : demux(sock);
    const signals = new ExecSignals(exec, new ExecSignaller(this.o.containerId), this.o.log);
    return {
      // sshd keeps a PTY open when the client's stdin ends; a half-close would end a TTY exec's output with it.
      stdin: tty ? keepOpen(sock) : sock,
      stdout: out.stdout,
      stderr: out.stderr,
      resize: (rows, cols) => {
        if (tty) exec.resize({ h: rows, w: cols }).catch(() => undefined);
      },
      signal: (name) => void signals.send(name),
      exit: async () => {
        await ended;
        return signals.exitInfo(await exitOf(exec));
      },
      close: () => {
        // The renter's channel or connection is gone: hang up the session like sshd, then drop the stream.
        void signals.hangUp().finally(() => sock.destroy());
      },
    };
  }

  async forward(destHost: string, destPort: number): Promise<Duplex> {
    const ip = await this.ip();
    // Only the container itself: the relay host's network must not become reachable through -L.
    if (!LOOPBACK.has(destHost) && destHost !== ip) throw new TargetError('forwarding is limited to the environment itself');
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: ip, port: destPort });
      s.setNoDelay(true);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  }

  private async ip(): Promise<string> {
    if (this.o.ip) return this.o.ip;
    const info = await this.o.docker.getContainer(this.o.containerId).inspect();
    const nets = Object.values(info.NetworkSettings.Networks ?? {});
    const ip = nets.map((n) => n.IPAddress).find((a) => a);
    if (!ip) throw new TargetError('the environment has no IP address');
    return ip;
  }

  close(): void {}
}

async function exitOf(exec: Dockerode.Exec): Promise<ExitInfo> {
  // The stream can end a moment before the Engine records the exit code.
  for (let i = 0; i < 40; i++) {
    const info = await exec.inspect().catch(() => null);
    if (!info) return { code: 255 };
    if (!info.Running && info.ExitCode !== null) return { code: info.ExitCode };
    await new Promise((r) => setTimeout(r, 25));
  }
  return { code: 255 };
}

/** Stdin for a TTY exec: writes pass through with backpressure, the end does not (no half-close). */
function keepOpen(sock: Duplex): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (sock.destroyed) return cb();
      if (sock.write(chunk)) cb();
      else sock.once('drain', () => cb());
    },
    final(cb) {
      cb();
    },
  });
}

/** Signals for one exec: `signal` requests, the hang-up when the renter goes, and exit-signal for what we sent. */
class ExecSignals {
  private readonly sent = new Set<number>();
  constructor(private readonly exec: Dockerode.Exec, private readonly procs: ExecSignaller, private readonly log: Logger) {}

  private async runningPid(): Promise<number | null> {
    const info = await this.exec.inspect().catch(() => null);
    return info?.Running && info.Pid > 0 ? info.Pid : null;
  }

  async send(name: string): Promise<void> {
    const sig = nodeSignal(name);
    const pid = sig ? await this.runningPid() : null;
    if (!sig || !pid) return;
    if (this.procs.signal(pid, sig)) this.sent.add(signalNumber(sig));
  }

  async hangUp(): Promise<void> {
    const pid = await this.runningPid();
    if (!pid) return;
    this.sent.add(signalNumber('SIGHUP'));
    const n = this.procs.hangUp(pid);
    this.log.info('ssh session hung up', { pid, processes: n });
  }

  /**
   * Docker reports a process killed by signal n as exit code 128+n, like a shell's $?, so a real exit-signal cannot
   * be told from `exit 143`. It is reported as a signal only when the relay itself sent that signal.
   */
  exitInfo(info: ExitInfo): ExitInfo {
    if (!('code' in info) || info.code <= 128 || !this.sent.has(info.code - 128)) return info;
    const name = sshSignalName(info.code - 128);
    return name ? { signal: name, coreDumped: false, message: '' } : info;
  }
}
