// Target kind 'ssh': one upstream ssh2 Client per renter connection, to the target's sshd with the platform key.
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import type { Logger } from '../contracts.ts';
import type { ExitInfo, StartRequest, Target, TargetProcess } from './target.ts';
import { TargetError } from './target.ts';

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

/** More upstream connections per renter connection, when the target refuses sessions (sshd's MaxSessions, 10). */
const MAX_UPSTREAMS = 8;

export class UpstreamSshTarget implements Target {
  private readonly clients: ssh2.Client[] = [];
  private readonly ready: Promise<ssh2.Client>[] = [];
  /** Open session channels per upstream connection. */
  private readonly sessions = new Map<ssh2.Client, number>();

  constructor(private readonly o: UpstreamOptions) {}

  private connect(): Promise<ssh2.Client> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: this.o.host, port: this.o.port });
      sock.setNoDelay(true); // before the handshake: Nagle costs ~40 ms per round trip otherwise
      const client = new ssh2.Client();
      this.clients.push(client);
      const matches = this.o.hostKey ? hostKeyMatcher(this.o.hostKey) : null;
      // Physical machines are pinned at enrolment and sshd containers at create; an unpinned target is worth a line.
      if (!matches && this.clients.length === 1) this.o.log.warn('upstream host key not pinned: accepting the key the target offers', { target: `${this.o.host}:${this.o.port}` });
      const cfg: ConnectConfig = {
        sock,
        username: this.o.username,
        privateKey: this.o.privateKey,
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
          this.o.log.warn('upstream ssh connection failed', { target: `${this.o.host}:${this.o.port}`, reason: err.message, level: err.level });
          return;
        }
        settled = true;
        const why = err.level === 'client-authentication'
          ? 'the target refused the relay key'
          : /host key|verification/i.test(err.message) ? 'the target host key does not match the pinned key' : `cannot reach the target (${err.message})`;
        reject(new TargetError(why));
      });
      client.on('close', () => {
        if (!settled) reject(new TargetError('the target closed the connection'));
        settled = true;
      });
      sock.on('error', () => undefined); // reported through the client
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
    for (let i = 0; ; i++) {
      const client = await this.upstream(i);
      try {
        return await this.open(client, req);
      } catch (err) {
        const refused = /Channel open failure/.test(String(err));
        if (!refused || i + 1 >= MAX_UPSTREAMS) throw err instanceof TargetError ? err : new TargetError(String(err));
        if (!this.ready[i + 1]) this.o.log.info('target refused a session: opening another upstream connection', { upstreams: i + 2, sessions: this.sessions.get(client) ?? 0 });
      }
    }
  }

  private open(client: ssh2.Client, req: StartRequest): Promise<TargetProcess> {
    return new Promise<TargetProcess>((resolve, reject) => {
      // channelProcess runs inside the callback, before any await: ssh2 emits 'exit' and 'close' as it parses a
      // read, and a short command's data, exit-status and close often arrive in the same read as the open reply.
      const done = (err: Error | undefined, ch: ClientChannel) => {
        if (err) return reject(new TargetError(err.message));
        this.sessions.set(client, (this.sessions.get(client) ?? 0) + 1);
        ch.once('close', () => this.sessions.set(client, (this.sessions.get(client) ?? 1) - 1));
        resolve(channelProcess(ch));
      };
      const pty = req.pty ? { term: req.pty.term, rows: req.pty.rows, cols: req.pty.cols, width: req.pty.width, height: req.pty.height, modes: req.pty.modes } : undefined;
      try {
        if (req.kind === 'subsystem') client.subsys(req.arg, done);
        else if (req.kind === 'exec') client.exec(req.arg, { env: req.env, ...(pty ? { pty } : {}) }, done);
        else client.shell(pty ?? false, { env: req.env }, done);
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
    exitInfo = typeof code === 'number' ? { code } : { signal: (signal ?? 'KILL').replace(/^SIG/, ''), coreDumped: dump === true, message: desc ?? '' };
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
