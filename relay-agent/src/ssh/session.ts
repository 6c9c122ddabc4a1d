// One authenticated renter connection: session channels and direct-tcpip bridged to the target, logout audited.
import type { Readable } from 'node:stream';
import type { Route } from '@remotegpu/schema';
import type Dockerode from 'dockerode';
import type { Connection, ServerChannel, Session } from 'ssh2';
import type { AuditSink, Logger, RecordingSink } from '../contracts.ts';
import type { Authenticated, ConnMeta } from './auth.ts';
import type { RelayKeys } from './keys.ts';
import type { GatewayLimits } from './limits.ts';
import { DockerExecTarget } from './docker-target.ts';
import { renterAgent } from './agent-channel.ts';
import { answerUnknownChannelRequests } from './channel-requests.ts';
import { AsciicastRecorder } from './recording.ts';
import { serveRemoteForwards } from './remote-forward.ts';
import type { NetnsPool } from './netns.ts';
import type { ToolInstaller } from './tool-bundle.ts';
import type { PtyRequest, StartRequest, Target, TargetProcess } from './target.ts';
import { TargetError } from './target.ts';
import { UpstreamSshTarget } from './upstream-ssh.ts';

export interface SessionDeps {
  docker: Dockerode;
  keys: RelayKeys;
  audit: AuditSink;
  recordings: RecordingSink;
  limits: GatewayLimits;
  log: Logger;
  tools?: ToolInstaller;
  netns?: NetnsPool;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const noop = () => undefined;

/**
 * Refuses every channel with a message: the environment is stopped or has no target yet. Decided after
 * authentication on purpose: before it, a stopped environment must look like any other failed login.
 */
class UnavailableTarget implements Target {
  constructor(private readonly why: string) {}
  start(): Promise<TargetProcess> {
    return Promise.reject(new TargetError(this.why));
  }
  forward(): Promise<never> {
    return Promise.reject(new TargetError(this.why));
  }
  listen(): Promise<never> {
    return Promise.reject(new TargetError(this.why));
  }
  close(): void {}
}

/**
 * The target of an environment for `login`: its sshd upstream, or `docker exec` into its container. Also the browser
 * terminal's (relay-agent/src/terminal) and the file transfers' (relay-agent/src/files).
 */
export function makeTarget(
  r: Route,
  login: string,
  deps: Pick<SessionDeps, 'docker' | 'keys' | 'limits' | 'tools' | 'netns'>,
  log: Logger,
): Target {
  if (!r.running)
    return new UnavailableTarget(`environment ${r.environment_id} is not running: start it from the console`);
  const t = r.target;
  if (!t) return new UnavailableTarget(`environment ${r.environment_id} is not ready yet`);
  if (t.kind === 'docker')
    return new DockerExecTarget({
      docker: deps.docker,
      containerId: t.container_id,
      ip: r.target_ip || null,
      user: login,
      log,
      ...(deps.tools ? { tools: deps.tools } : {}),
      ...(deps.netns ? { netns: deps.netns } : {}),
    });
  return new UpstreamSshTarget({
    host: t.ip,
    port: t.port,
    username: login,
    privateKey: deps.keys.platformPrivateKey,
    hostKey: t.host_key,
    keepaliveMs: deps.limits.keepaliveMs,
    keepaliveCountMax: deps.limits.keepaliveCountMax,
    log,
  });
}

function whenEnded(s: Readable | null): Promise<void> {
  if (!s || s.readableEnded || s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    s.once('end', () => resolve());
    s.once('close', () => resolve());
    s.once('error', () => resolve());
  });
}

export function serveConnection(client: Connection, meta: ConnMeta, a: Authenticated, deps: SessionDeps): void {
  // Every failure below is logged once at warn or above, with the environment, the reason and the peer.
  const log = deps.log.child({ env_id: a.route.environment_id, conn_id: meta.connId, peer: meta.sourceIp });
  const target = makeTarget(a.route, a.login, deps, log);
  const stats = { in: 0, out: 0, started: Date.now() };
  const countIn = (c: Buffer) => {
    stats.in += c.length;
  };
  const countOut = (c: Buffer) => {
    stats.out += c.length;
  };
  const agent = renterAgent(client);
  if (!answerUnknownChannelRequests(client))
    log.warn('ssh2 internals changed: unknown channel requests (PuTTY winadj) go unanswered');

  client.on('session', (acceptSession) => {
    const session: Session = acceptSession();
    let pty: PtyRequest | null = null;
    const env: Record<string, string> = {};
    let proc: TargetProcess | null = null;
    let recorder: AsciicastRecorder | null = null;
    let agentForward = false;

    session.on('pty', (accept, _reject, info) => {
      pty = {
        term: info.term,
        rows: info.rows,
        cols: info.cols,
        width: info.width,
        height: info.height,
        modes: info.modes as Record<string, number>,
      };
      accept?.();
    });
    session.on('env', (accept, reject, info) => {
      if (ENV_NAME.test(info.key) && Object.keys(env).length < 64) {
        env[info.key] = info.val;
        accept?.();
      } else reject?.();
    });
    session.on('window-change', (accept, _reject, info) => {
      if (pty) Object.assign(pty, { rows: info.rows, cols: info.cols, width: info.width, height: info.height });
      proc?.resize(info.rows, info.cols, info.height, info.width);
      recorder?.resize(info.cols, info.rows);
      accept?.();
    });
    session.on('auth-agent', (accept) => {
      agentForward = true;
      accept?.();
    });
    session.on('signal', (accept, _reject, info) => {
      proc?.signal(info.name);
      accept?.();
    });
    const run = (down: ServerChannel, kind: StartRequest['kind'], arg: string) => {
      if (kind === 'shell' && a.route.recording) {
        recorder = new AsciicastRecorder(
          pty?.cols ?? 80,
          pty?.rows ?? 24,
          pty?.term ?? 'xterm',
          deps.limits.maxRecordingBytes,
        );
      }
      void bridge(down, { kind, arg, pty, env, ...(agentForward ? { agent } : {}) }, (p) => (proc = p), recorder).catch(
        (err: unknown) => {
          log.error('ssh session bridge failed', { kind, reason: String(err) });
          down.destroy();
        },
      );
    };
    // Accept first, then open the target: an early client EOF would make a later accept() a silent no-op.
    session.on('shell', (accept) => run(accept(), 'shell', ''));
    session.on('exec', (accept, _reject, info) => run(accept(), 'exec', info.command));
    session.on('subsystem', (accept, _reject, info) => run(accept(), 'subsystem', info.name));
  });

  async function bridge(
    down: ServerChannel,
    req: StartRequest,
    started: (p: TargetProcess) => void,
    rec: AsciicastRecorder | null,
  ) {
    down.on('error', noop);
    down.stderr.on('error', noop);
    let closed = false;
    down.once('close', () => (closed = true));
    let p: TargetProcess;
    try {
      p = await target.start(req);
    } catch (err) {
      const msg = err instanceof TargetError ? err.message : 'internal error';
      if (err instanceof TargetError)
        log.warn('ssh channel refused: the target did not start it', { kind: req.kind, reason: msg });
      else log.error('ssh target start failed', { kind: req.kind, reason: String(err) });
      down.stderr.write(`remotegpu: ${msg.replace(/^remotegpu: /, '')}\r\n`);
      down.exit(255);
      down.end();
      return;
    }
    if (closed) return p.close();
    started(p);
    p.stdin.on('error', noop);
    down.on('data', countIn);
    down.pipe(p.stdin);
    p.stdout.on('data', (c: Buffer) => {
      countOut(c);
      rec?.output(c);
    });
    p.stdout.pipe(down, { end: false });
    p.stderr?.on('data', countOut);
    p.stderr?.pipe(down.stderr, { end: false });
    down.once('close', () => p.close());
    const [info] = await Promise.all([p.exit(), whenEnded(p.stdout), whenEnded(p.stderr)]);
    if (!closed) {
      // exit() before end(): end() sends EOF and CLOSE together.
      if ('code' in info) down.exit(info.code);
      else down.exit(info.signal, info.coreDumped, info.message);
      down.end();
    }
    if (rec) uploadRecording(rec);
  }

  function uploadRecording(rec: AsciicastRecorder) {
    const ended = Date.now();
    deps.recordings.upload({
      id: `${meta.connId}-${rec.startedAt}`,
      environment_id: a.route.environment_id,
      username: a.username,
      source_ip: meta.sourceIp,
      started_at: rec.startedAt,
      ended_at: ended,
      cast: rec.finish(ended),
    });
  }

  client.on('tcpip', (accept, reject, info) => {
    target.forward(info.destIP, info.destPort, info.srcIP, info.srcPort).then(
      (up) => {
        const down = accept();
        if (!down) return up.destroy();
        up.on('error', noop);
        down.on('error', noop);
        down.on('data', countIn);
        up.on('data', countOut);
        down.pipe(up);
        up.pipe(down);
        down.once('close', () => up.destroy());
        up.once('close', () => down.destroy());
      },
      (err: unknown) => {
        log.warn('ssh forward refused', {
          dest: `${info.destIP}:${info.destPort}`,
          reason: err instanceof Error ? err.message : String(err),
        });
        reject();
      },
    );
  });

  serveRemoteForwards(client, target, log, { in: countIn, out: countOut });

  client.once('close', () => {
    target.close();
    deps.audit.record({
      timestamp: new Date().toISOString(),
      environment_id: a.route.environment_id,
      type: a.route.type,
      event: 'ssh_logout',
      source_ip: meta.sourceIp,
      username: a.username,
      status: 'success',
      detail: {
        duration_ms: Date.now() - stats.started,
        bytes_in: stats.in,
        bytes_out: stats.out,
        conn_id: meta.connId,
        ...(meta.worker === undefined ? {} : { worker: meta.worker }),
      },
    });
  });
}
