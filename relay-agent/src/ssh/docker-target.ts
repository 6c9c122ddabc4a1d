// Target kind 'docker': `docker exec` into a container without sshd (PTY + resize, exit codes, signals and hang-up, sftp via its sftp-server).
import net from 'node:net';
import { Writable } from 'node:stream';
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Logger } from '../contracts.ts';
import { demux } from './demux.ts';
import { ExecSignaller, nodeSignal, signalNumber, sshSignalName } from './exec-signals.ts';
import type { ExitInfo, StartRequest, Target, TargetProcess } from './target.ts';
import { ContainerAgentSocket } from './docker-agent.ts';
import type { NetnsListener, NetnsPool, OnConnection } from './netns.ts';
import type { ToolInstaller } from './tool-bundle.ts';
import { BUNDLE_BIN, IMAGE_SFTP_SERVERS, toolFor } from './tool-bundle.ts';
import { TargetError } from './target.ts';

const NO_SFTP =
  'remotegpu: this environment has no sftp-server and the relay could not bring one: install openssh-sftp-server in its image to use sftp and scp';
/** Where `ssh -L`/`-D` may go, seen from inside the container: its loopback and its own addresses, never the relay host. */
async function destination(host: string, ips: () => Promise<string[]>): Promise<string | null> {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return '127.0.0.1';
  if (h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return h;
  return (await ips()).includes(h) ? h : null;
}

/** Where `ssh -R` may listen inside the container: loopback by default, every interface of the container on request. */
function bindAddress(addr: string): string | null {
  if (addr === '' || addr === '*' || addr === '0.0.0.0') return '0.0.0.0';
  if (addr === 'localhost') return '127.0.0.1';
  if (addr === '::1' || addr === '::' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(addr)) return addr;
  return null;
}

/** Quotes a string for /bin/sh. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function command(req: StartRequest): string[] {
  const home = 'cd "$HOME" 2>/dev/null; ';
  // scp -t/-f and rsync --server find the relay's bundle when the image has none (the image's own come first).
  const path = toolFor(req.kind, req.arg) ? `PATH="\${PATH:-/usr/bin:/bin}:${BUNDLE_BIN}" ` : '';
  if (req.kind === 'exec') return ['/bin/sh', '-c', `${home}${path}exec /bin/sh -c ${sq(req.arg)}`];
  if (req.kind === 'shell')
    return ['/bin/sh', '-c', `${home}if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l`];
  if (req.arg !== 'sftp') throw new TargetError(`remotegpu: subsystem ${req.arg} is not available`);
  const tries = [...IMAGE_SFTP_SERVERS, `${BUNDLE_BIN}/sftp-server`].map((p) => `[ -x ${p} ] && exec ${p}`).join('; ');
  return ['/bin/sh', '-c', `${home}${tries}; echo ${sq(NO_SFTP)} >&2; exit 1`];
}

export interface DockerTargetOptions {
  docker: Dockerode;
  containerId: string;
  /** The container's IP for `ssh -L`, if the route carries it; otherwise it is looked up. */
  ip: string | null;
  user: string;
  log: Logger;
  /** Brings sftp-server/scp/rsync into images without them; absent: only the image's own tools. */
  tools?: ToolInstaller;
  /** Connects and listens inside the container's network namespace; absent: -L reaches only the container's IP. */
  netns?: NetnsPool;
}

export class DockerExecTarget implements Target {
  private agent: ContainerAgentSocket | null = null;

  constructor(private readonly o: DockerTargetOptions) {}

  async start(req: StartRequest): Promise<TargetProcess> {
    req = await this.prepare(req);
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
      throw new TargetError(
        /is not running/.test(String(err))
          ? 'the environment is not running'
          : 'cannot start a process in the environment',
      );
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

  /** What a request needs before its exec: a tool from the bundle, the agent socket (`ssh -A`). */
  private async prepare(req: StartRequest): Promise<StartRequest> {
    const tool = toolFor(req.kind, req.arg);
    if (tool && this.o.tools) {
      // On failure the command runs anyway and the renter sees the image's own "not found".
      await this.o.tools.ensure(this.o.containerId, tool, this.o.log).catch((err: unknown) => {
        this.o.log.warn('ssh tools could not be brought into the environment', {
          container: this.o.containerId,
          tool,
          reason: String(err),
        });
      });
    }
    if (!req.agent || !this.o.tools || !this.o.netns) return req;
    this.agent ??= new ContainerAgentSocket({
      docker: this.o.docker,
      containerId: this.o.containerId,
      user: this.o.user,
      netns: this.o.netns,
      tools: this.o.tools,
      log: this.o.log,
    });
    try {
      return { ...req, env: { ...req.env, SSH_AUTH_SOCK: await this.agent.socketPath(req.agent) } };
    } catch (err) {
      // Like sshd when it cannot make the socket: the session runs without an agent.
      this.o.log.warn('ssh agent forwarding unavailable in the environment', {
        container: this.o.containerId,
        reason: String(err),
      });
      return req;
    }
  }

  async forward(destHost: string, destPort: number): Promise<Duplex> {
    // Only the container itself: the relay host's network must not become reachable through -L or -D.
    const dest = await destination(destHost, () => this.ips());
    if (!dest) throw new TargetError('forwarding is limited to the environment itself');
    if (this.o.netns) {
      // From inside the container's network namespace: its loopback is the one VS Code's server binds.
      return this.o.netns.connect(this.o.containerId, dest, destPort).catch((err: unknown) => {
        throw new TargetError(
          `connect to ${destHost}:${destPort} inside the environment failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      });
    }
    // Without the helper, loopback means the container's IP as seen from the host (services bound to 0.0.0.0).
    const host = /^(127\.|::1$)/.test(dest) ? (await this.ips())[0]! : dest;
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port: destPort });
      s.setNoDelay(true);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  }

  async listen(bindAddr: string, bindPort: number, on: OnConnection): Promise<NetnsListener> {
    const host = bindAddress(bindAddr);
    if (!host) throw new TargetError(`cannot listen on ${bindAddr} inside the environment`);
    if (!this.o.netns) throw new TargetError('remote forwarding is not available on this relay');
    return this.o.netns.listen(this.o.containerId, host, bindPort, on);
  }

  private async ips(): Promise<string[]> {
    const info = await this.o.docker
      .getContainer(this.o.containerId)
      .inspect()
      .catch(() => null);
    const ips = Object.values(info?.NetworkSettings.Networks ?? {})
      .map((n) => n.IPAddress)
      .filter((a) => a);
    if (this.o.ip && !ips.includes(this.o.ip)) ips.unshift(this.o.ip);
    if (!ips.length) throw new TargetError('the environment has no IP address');
    return ips;
  }

  close(): void {
    this.agent?.close();
  }
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
  constructor(
    private readonly exec: Dockerode.Exec,
    private readonly procs: ExecSignaller,
    private readonly log: Logger,
  ) {}

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
