// TCP inside a container's network namespace: one lazy helper per container (nsenter --net + node), sockets handed back over IPC.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import type { Logger } from '../contracts.ts';

const HELPER = fileURLToPath(new URL('./netns-helper.cjs', import.meta.url));
/** A helper with no listeners and no requests for this long exits (it would keep a stopped container's netns alive). */
const IDLE_MS = 30_000;

interface Reply {
  id?: number;
  ok?: boolean;
  error?: string;
  port?: number;
  lid?: number;
  op?: string;
  srcIP?: string;
  srcPort?: number;
}

export interface NetnsListener {
  port: number;
  close(): void;
}

export type OnConnection = (sock: net.Socket, src: { ip: string; port: number }) => void;

class Helper {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: { reply: Reply; handle: net.Socket | undefined }) => void; reject: (e: Error) => void }
  >();
  private readonly accepting = new Map<number, OnConnection>();
  private idle: NodeJS.Timeout | null = null;
  readonly exited: Promise<void>;

  constructor(private readonly child: ChildProcess) {
    child.on('message', (m: Reply, handle: unknown) => {
      const sock = handle as net.Socket | undefined;
      if (m.op === 'conn' && m.lid !== undefined) {
        const on = this.accepting.get(m.lid);
        if (on && sock) on(sock, { ip: m.srcIP ?? '', port: m.srcPort ?? 0 });
        else sock?.destroy();
        return;
      }
      const p = m.id === undefined ? undefined : this.pending.get(m.id);
      if (!p) return void sock?.destroy();
      this.pending.delete(m.id!);
      p.resolve({ reply: m, handle: sock });
      this.touch();
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        for (const p of this.pending.values()) p.reject(new Error('the network helper exited'));
        this.pending.clear();
        if (this.idle) clearTimeout(this.idle);
        resolve();
      }),
    );
    this.touch();
  }

  private request(msg: Record<string, unknown>): Promise<{ reply: Reply; handle: net.Socket | undefined }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, ...msg }, (err) => {
        if (err) {
          this.pending.delete(id);
          reject(err);
        }
      });
    });
  }

  private touch(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    if (this.accepting.size === 0 && this.pending.size === 0)
      this.idle = setTimeout(() => this.child.kill(), IDLE_MS).unref();
  }

  kill(): void {
    this.child.kill();
  }

  async connect(host: string, port: number): Promise<net.Socket> {
    const { reply, handle } = await this.request({ op: 'connect', host, port });
    if (!reply.ok || !handle) throw new Error(reply.error ?? 'connect failed');
    handle.setNoDelay(true);
    handle.resume();
    return handle;
  }

  async listen(at: { host: string; port: number } | { path: string }, on: OnConnection): Promise<NetnsListener> {
    const { reply } = await this.request({ op: 'listen', ...at });
    if (!reply.ok || reply.lid === undefined || reply.port === undefined)
      throw new Error(reply.error ?? 'listen failed');
    const lid = reply.lid;
    this.accepting.set(lid, (sock, src) => {
      if ('host' in at) sock.setNoDelay(true);
      on(sock, src);
    });
    this.touch();
    return {
      port: reply.port,
      close: () => {
        if (!this.accepting.delete(lid)) return;
        if (this.child.connected) this.child.send({ op: 'unlisten', lid });
        this.touch();
      },
    };
  }
}

/**
 * The helpers of all containers on this relay. The helper joins only the network namespace: `node` and
 * its script resolve on the host, and nothing of the container's file system is touched.
 */
export class NetnsPool {
  private readonly helpers = new Map<string, Promise<Helper>>();

  constructor(private readonly o: { docker: Dockerode; log: Logger; nsenter?: string }) {}

  private helper(containerId: string): Promise<Helper> {
    let h = this.helpers.get(containerId);
    if (!h) {
      h = this.spawn(containerId);
      this.helpers.set(containerId, h);
      h.then(
        (x) => x.exited,
        () => undefined,
      ).finally(() => {
        if (this.helpers.get(containerId) === h) this.helpers.delete(containerId);
      });
    }
    return h;
  }

  private async spawn(containerId: string): Promise<Helper> {
    const info = await this.o.docker.getContainer(containerId).inspect();
    const pid = info.State.Pid;
    if (!info.State.Running || !pid) throw new Error('the environment is not running');
    const child = spawn(
      this.o.nsenter ?? 'nsenter',
      ['--target', String(pid), '--net', '--', process.execPath, HELPER],
      {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        serialization: 'json',
      },
    );
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-500);
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    child.once('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGTERM')
        this.o.log.warn('network helper exited', { container: containerId, code, signal, stderr: stderr.trim() });
    });
    return new Helper(child);
  }

  /** Stops every helper (their listeners close with them). */
  close(): void {
    for (const h of this.helpers.values())
      void h.then(
        (x) => x.kill(),
        () => undefined,
      );
    this.helpers.clear();
  }

  async connect(containerId: string, host: string, port: number): Promise<net.Socket> {
    return (await this.helper(containerId)).connect(host, port);
  }

  async listen(containerId: string, host: string, port: number, on: OnConnection): Promise<NetnsListener> {
    return (await this.helper(containerId)).listen({ host, port }, on);
  }

  /** An abstract unix socket (`name` without the leading NUL) in the container's network namespace. */
  async listenAbstract(containerId: string, name: string, on: OnConnection): Promise<NetnsListener> {
    return (await this.helper(containerId)).listen({ path: `\0${name}` }, on);
  }
}
