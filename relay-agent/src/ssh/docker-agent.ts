// `ssh -A` in docker exec environments: a private agent socket inside the container, bridged to the renter's agent channel.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Logger } from '../contracts.ts';
import { execCapture } from '../docker/exec.ts';
import type { NetnsListener, NetnsPool } from './netns.ts';
import type { AgentSource } from './target.ts';
import type { ToolInstaller } from './tool-bundle.ts';
import { BUNDLE_BIN } from './tool-bundle.ts';

const noop = () => undefined;

export interface ContainerAgentOptions {
  docker: Dockerode;
  containerId: string;
  user: string;
  netns: NetnsPool;
  tools: ToolInstaller;
  log: Logger;
}

/**
 * One per renter connection. The relay's network helper listens on a random abstract unix socket in the
 * container's network namespace; a socat started by `docker exec` as the session's user (so inside every
 * namespace of the container, with its users and file system) listens on /tmp/ssh-XXXXXXXXXX/agent.1
 * (directory 0700, socket 0600, like sshd's) and connects each client to that abstract socket; the relay then
 * opens an agent channel to the renter for it. Nothing is written from the host's side of the container.
 */
export class ContainerAgentSocket {
  private path: Promise<string> | null = null;
  private listener: NetnsListener | null = null;
  private exec: Dockerode.Exec | null = null;
  private closed = false;

  constructor(private readonly o: ContainerAgentOptions) {}

  /** The socket path for SSH_AUTH_SOCK (made at the first session that asks). */
  socketPath(source: AgentSource): Promise<string> {
    this.path ??= this.make(source);
    return this.path;
  }

  private async make(source: AgentSource): Promise<string> {
    const name = `remotegpu-agent-${randomBytes(16).toString('hex')}`;
    const dir = `/tmp/ssh-${randomBytes(5).toString('hex')}`;
    const path = `${dir}/agent.1`;
    this.listener = await this.o.netns.listenAbstract(this.o.containerId, name, (sock) => {
      sock.on('error', noop);
      source.open().then(
        (ch: Duplex) => {
          ch.on('error', noop);
          sock.pipe(ch).pipe(sock);
          ch.once('close', () => sock.destroy());
          sock.once('close', () => ch.destroy());
        },
        (err: unknown) => {
          this.o.log.warn('ssh agent channel refused by the renter', {
            reason: err instanceof Error ? err.message : String(err),
          });
          sock.destroy();
        },
      );
    });
    await this.o.tools.ensure(this.o.containerId, 'socat', this.o.log);
    const container = this.o.docker.getContainer(this.o.containerId);
    // Node binds abstract names with the whole sun_path (NUL-padded): socat must connect with the same length.
    const socat = `${BUNDLE_BIN}/socat UNIX-LISTEN:${path},fork,mode=600,unlink-early,unlink-close ABSTRACT-CONNECT:${name},unix-tightsocklen=0`;
    this.exec = await container.exec({
      Cmd: ['/bin/sh', '-c', `umask 077 && mkdir ${dir} && exec ${socat}`],
      User: this.o.user,
      AttachStdout: false,
      AttachStderr: false,
    });
    await this.exec.start({ Detach: true });
    // Ready once the socket exists (socat makes it within milliseconds).
    for (let i = 0; i < 100; i++) {
      if (this.closed) throw new Error('the connection closed');
      const r = await execCapture(this.o.docker, container, ['/bin/sh', '-c', `test -S ${path}`]);
      if (r.code === 0) return path;
      const info = await this.exec.inspect();
      if (!info.Running && info.ExitCode !== null)
        throw new Error(`the agent socket helper exited with ${info.ExitCode}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the agent socket did not appear');
  }

  close(): void {
    this.closed = true;
    this.listener?.close();
    const exec = this.exec;
    if (!exec) return;
    // The Engine cannot signal an exec'd process: its Pid is a host pid, and the relay runs as root.
    void exec
      .inspect()
      .then((info) => {
        if (info.Running && info.Pid > 0) process.kill(info.Pid, 'SIGTERM');
      })
      .catch(noop);
    void this.path
      ?.then((p) =>
        execCapture(this.o.docker, this.o.docker.getContainer(this.o.containerId), [
          '/bin/sh',
          '-c',
          `rm -rf ${p.replace(/\/agent\.1$/, '')}`,
        ]),
      )
      .catch(noop);
  }
}
