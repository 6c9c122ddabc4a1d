// Target kind 'ssh': one upstream ssh2 Client per renter connection, to the target's sshd with the platform key.
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import type { Logger } from '../contracts.ts';
import type {
  AgentSource,
  ExitInfo,
  OnRemoteConnection,
  RemoteListener,
  StartRequest,
  Target,
  TargetProcess,
} from './target.ts';
import { TargetError } from './target.ts';

/**
 * Receive window (bytes) of the channels the relay opens to a target's sshd, which is on this host or its LAN: a
 * quarter of the 2 MiB that ssh2 and OpenSSH use, because what the target sends ahead of the renter's leg waits in the
 * relay's memory, in socket read buffers that outlive young-generation collections and then drive full ones.
 * bench/ssh, 8 concurrent downloads alone (BENCH_KINDS=down): 3.2 -> 2.1 relay CPU-seconds per GiB, 270 -> 335 MB/s.
 * 512 KiB still fills a 10 Gbit/s link at 0.4 ms round trip. The renter's side keeps 2 MiB: that leg crosses the
 * internet. `channelWindow` is the relay's addition to ssh2's Client (patches/ssh2+1.17.0.patch).
 */
export const UPSTREAM_CHANNEL_WINDOW = 512 * 1024;

export interface UpstreamOptions {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /** Pinned host key: an OpenSSH public key line (known_hosts lines work too) or a SHA256: fingerprint. */
  hostKey: string | null;
  keepaliveMs: number;
  keepaliveCountMax: number;
  log: Logger;
}

export function hostKeyMatcher(pinned: string): (key: Buffer) => boolean {
  if (pinned.startsWith('SHA256:')) {
    const want = pinned.slice(7).replace(/=+$/, '');
    return (key) => createHash('sha256').update(key).digest('base64').replace(/=+$/, '') === want;
  }
  const parts = pinned.trim().split(/\s+/);
  const i = parts.findIndex((p) => /^(ssh-|ecdsa-|sk-)/.test(p));
  const parsed = i === -1 ? new Error('no key') : ssh2.utils.parseKey(`${parts[i]} ${parts[i + 1] ?? ''}`);
  if (parsed instanceof Error) return () => false;
  const want = (Array.isArray(parsed) ? parsed[0]! : parsed).getPublicSSH();
  return (key) => want.equals(key);
}

/**
 * The renter's agent as the upstream connection's agent: when the target's sshd opens an agent channel (the
 * renter's `ssh -A`), ssh2 asks getStream() and pipes it to a new agent channel to the renter.
 */
class RenterAgentProxy extends ssh2.BaseAgent {
  source: AgentSource | null = null;
  getIdentities(cb: (err: Error | undefined, keys?: Buffer[]) => void): void {
    cb(new Error('the renter agent is not used to log in to the target'));
  }
  sign(_key: unknown, _data: Buffer, _opts: unknown, cb?: (err: Error | undefined, sig?: Buffer) => void): void {
    cb?.(new Error('the renter agent is not used to log in to the target'));
  }
  override getStream(cb: (err: Error | undefined, stream?: Duplex) => void): void {
    if (!this.source) {
      cb(new Error('agent forwarding was not requested'));
      return;
    }
    this.source.open().then(
      (ch) => cb(undefined, ch),
      (err: Error) => cb(err),
    );
  }
}

/** More upstream connections per renter connection, when the target refuses sessions (sshd's MaxSessions, 10). */
const MAX_UPSTREAMS = 8;

export class UpstreamSshTarget implements Target {
  private readonly agent = new RenterAgentProxy();
  private readonly clients: ssh2.Client[] = [];
  private readonly ready: Promise<ssh2.Client>[] = [];
  /** Open session channels per upstream connection. */
  private readonly sessions = new Map<ssh2.Client, number>();
  /** `ssh -R` listeners on the target's sshd, by bound port. */
  private readonly remote = new Map<number, OnRemoteConnection>();

  constructor(private readonly o: UpstreamOptions) {}

  private connect(): Promise<ssh2.Client> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: this.o.host, port: this.o.port });
      sock.setNoDelay(true); // before the handshake: Nagle costs ~40 ms per round trip otherwise
      const client = new ssh2.Client();
      this.clients.push(client);
      const matches = this.o.hostKey ? hostKeyMatcher(this.o.hostKey) : null;
      // Physical machines are pinned at enrolment and sshd containers at create; an unpinned target is worth a line.
      if (!matches && this.clients.length === 1)
        this.o.log.warn('upstream host key not pinned: accepting the key the target offers', {
          target: `${this.o.host}:${this.o.port}`,
        });
      const cfg: ConnectConfig & { channelWindow: number } = {
        sock,
        channelWindow: UPSTREAM_CHANNEL_WINDOW,
        username: this.o.username,
        privateKey: this.o.privateKey,
        // Only the platform key logs in; the agent below serves the renter's `ssh -A` sessions.
        authHandler: ['publickey'],
        agent: this.agent,
        readyTimeout: 20_000,
        keepaliveInterval: this.o.keepaliveMs,
        keepaliveCountMax: this.o.keepaliveCountMax,
        ...(matches ? { hostVerifier: (key: Buffer) => matches(key) } : {}),
      };
      let settled = false;
      client.once('ready', () => {
        settled = true;
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string }) => {
        // Before 'ready' the error becomes the TargetError of the channel that asked, which logs it; after, it is logged here.
        if (settled) {
          this.o.log.warn('upstream ssh connection failed', {
            target: `${this.o.host}:${this.o.port}`,
            reason: err.message,
            level: err.level,
          });
          return;
        }
        settled = true;
        const why =
          err.level === 'client-authentication'
            ? 'the target refused the relay key'
            : /host key|verification/i.test(err.message)
              ? 'the target host key does not match the pinned key'
              : `cannot reach the target (${err.message})`;
        reject(new TargetError(why));
      });
      client.on('close', () => {
        if (!settled) reject(new TargetError('the target closed the connection'));
        settled = true;
      });
      sock.on('error', () => undefined); // reported through the client
      client.on('tcp connection', (info, accept, reject) => {
        const on = this.remote.get(info.destPort);
        if (!on) return reject();
        const ch = accept();
        ch.on('error', () => undefined);
        on(ch, { ip: info.srcIP, port: info.srcPort });
      });
      client.connect(cfg);
    });
  }

  /** The i-th upstream connection, opened on first use. */
  private upstream(i: number): Promise<ssh2.Client> {
    this.ready[i] ??= this.connect();
    return this.ready[i]!;
  }

  async start(req: StartRequest): Promise<TargetProcess> {
    // sshd refuses sessions beyond MaxSessions on one connection with a bare "open failed" (and counts a session until
    // it has reaped its process, a moment after the channel closed); a renter's ControlMaster or paramiko may open
    // more. A refused session moves on to the next upstream connection, opened on demand.
    if (req.agent) this.agent.source = req.agent;
    for (let i = 0; ; i++) {
      const client = await this.upstream(i);
      try {
        return await this.open(client, req);
      } catch (err) {
        const refused = /Channel open failure/.test(String(err));
        if (!refused || i + 1 >= MAX_UPSTREAMS) throw err instanceof TargetError ? err : new TargetError(String(err));
        if (!this.ready[i + 1])
          this.o.log.info('target refused a session: opening another upstream connection', {
            upstreams: i + 2,
            sessions: this.sessions.get(client) ?? 0,
          });
      }
    }
  }

  private open(client: ssh2.Client, req: StartRequest): Promise<TargetProcess> {
    // ssh2 reads `agentForward` on exec/shell options; @types/ssh2 1.15 does not declare it.
    const agentForward = { agentForward: req.agent !== undefined };
    return new Promise<TargetProcess>((resolve, reject) => {
      // channelProcess runs inside the callback, before any await: ssh2 emits 'exit' and 'close' as it parses a
      // read, and a short command's data, exit-status and close often arrive in the same read as the open reply.
      const done = (err: Error | undefined, ch: ClientChannel) => {
        if (err) return reject(new TargetError(err.message));
        this.sessions.set(client, (this.sessions.get(client) ?? 0) + 1);
        ch.once('close', () => this.sessions.set(client, (this.sessions.get(client) ?? 1) - 1));
        resolve(channelProcess(ch));
      };
      const pty = req.pty
        ? {
            term: req.pty.term,
            rows: req.pty.rows,
            cols: req.pty.cols,
            width: req.pty.width,
            height: req.pty.height,
            modes: req.pty.modes,
          }
        : undefined;
      try {
        if (req.kind === 'subsystem') client.subsys(req.arg, done);
        else if (req.kind === 'exec') {
          const opts: ssh2.ExecOptions = Object.assign({ env: req.env, ...(pty ? { pty } : {}) }, agentForward);
          client.exec(req.arg, opts, done);
        } else {
          const opts: ssh2.ShellOptions = Object.assign({ env: req.env }, agentForward);
          client.shell(pty ?? false, opts, done);
        }
      } catch (err) {
        reject(new TargetError(err instanceof Error ? err.message : String(err)));
      }
    });
  }

  async forward(destHost: string, destPort: number, srcIp: string, srcPort: number): Promise<Duplex> {
    const client = await this.upstream(0);
    return new Promise((resolve, reject) => {
      client.forwardOut(srcIp, srcPort, destHost, destPort, (err, ch) => (err ? reject(err) : resolve(ch)));
    });
  }

  async listen(bindAddr: string, bindPort: number, on: OnRemoteConnection): Promise<RemoteListener> {
    const client = await this.upstream(0);
    // The target's sshd listens (its GatewayPorts decides which addresses) and opens forwarded-tcpip to us.
    const port = await new Promise<number>((resolve, reject) => {
      client.forwardIn(bindAddr, bindPort, (err, p) =>
        err
          ? reject(new TargetError(`the target refused to listen on ${bindAddr}:${bindPort}`))
          : resolve(p || bindPort),
      );
    });
    this.remote.set(port, on);
    return {
      port,
      close: () => {
        this.remote.delete(port);
        try {
          client.unforwardIn(bindAddr, port, () => undefined);
        } catch {
          // the upstream connection is already gone, and its listeners with it
        }
      },
    };
  }

  close(): void {
    for (const c of this.clients) c.end();
  }
}

function channelProcess(ch: ClientChannel): TargetProcess {
  let exitInfo: ExitInfo = { code: 255 };
  let gotExit = false;
  ch.on('exit', (code: number | null, signal?: string, dump?: boolean, desc?: string) => {
    gotExit = true;
    // ssh2's client reports 'SIGTERM'; the server side sends it without the prefix either way.
    exitInfo =
      typeof code === 'number'
        ? { code }
        : { signal: (signal ?? 'KILL').replace(/^SIG/, ''), coreDumped: dump === true, message: desc ?? '' };
  });
  ch.on('error', () => undefined);
  ch.stderr.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => ch.once('close', () => resolve()));
  return {
    stdin: ch,
    stdout: ch,
    stderr: ch.stderr,
    resize: (rows, cols, height, width) => ch.setWindow(rows, cols, height, width),
    signal: (name) => ch.signal(name),
    exit: async () => {
      await closed;
      return gotExit ? exitInfo : { code: 255 };
    },
    close: () => ch.close(),
  };
}
