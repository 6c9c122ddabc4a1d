// Browser terminal sessions kept by the relay: one shell per (environment, session id), reattachable for a while after its socket goes.
import { TERMINAL_LINGER_MS, type AuditRecord, type Route, type TerminalOpen } from '@remotegpu/schema';
import type { AuditSink, Logger, RecordingSink } from '../contracts.ts';
import { AsciicastRecorder } from '../ssh/recording.ts';
import type { Target, TargetProcess } from '../ssh/target.ts';
import { TargetError } from '../ssh/target.ts';
import { OutputRing } from './ring.ts';

const TERM = 'xterm-256color';
const MAX_PENDING_INPUT = 1024 * 1024;

/** The browser socket attached to a session (one at a time: the newest wins). */
export interface TerminalViewer {
  output(chunk: Buffer): void;
  /** The shell ended: the viewer says so and closes. */
  exited(code: number | null): void;
  /** Another socket took the session over. */
  replaced(): void;
}

export interface TerminalDeps {
  /** Makes the target of a route for a login user, as the SSH gateway does (a seam for tests). */
  target(route: Route, login: string, log: Logger): Target;
  audit: AuditSink;
  recordings: RecordingSink;
  log: Logger;
  maxRecordingBytes: number;
  lingerMs?: number;
  /** Shells one environment may hold at once (several tabs, several shells). */
  maxPerEnvironment?: number;
}

/** A refusal whose message is meant for the browser's user. */
export class TerminalRefused extends Error {}

export class TerminalSession {
  private viewer: TerminalViewer | null = null;
  private readonly ring = new OutputRing();
  private proc: TargetProcess | null = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private linger: ReturnType<typeof setTimeout> | null = null;
  private recorder: AsciicastRecorder | null = null;
  private ended = false;
  private readonly started = Date.now();
  private bytesIn = 0;
  private bytesOut = 0;
  readonly ready: Promise<void>;
  private readonly log: Logger;

  constructor(
    readonly key: string,
    readonly open: TerminalOpen,
    private readonly route: Route,
    private readonly login: string,
    private readonly deps: TerminalDeps,
    private readonly onGone: (s: TerminalSession) => void,
  ) {
    this.log = deps.log.child({ env_id: route.environment_id, terminal: open.session });
    this.ready = this.start();
  }

  private audit(event: string, status: string, detail: Record<string, unknown>): void {
    const rec: AuditRecord = {
      timestamp: new Date().toISOString(),
      environment_id: this.route.environment_id,
      type: this.route.type,
      event,
      source_ip: this.open.source_ip,
      username: this.login,
      status,
      detail: { source: 'web', method: 'console', session: this.open.session, ...detail },
    };
    this.deps.audit.record(rec);
  }

  private async start(): Promise<void> {
    const target = this.deps.target(this.route, this.login, this.log);
    let proc: TargetProcess;
    try {
      proc = await target.start({
        kind: 'shell',
        arg: '',
        pty: { term: TERM, cols: this.open.cols, rows: this.open.rows, width: 0, height: 0, modes: {} },
        env: { LANG: 'C.UTF-8' },
      });
    } catch (err) {
      target.close();
      const reason = err instanceof TargetError ? err.message : 'the shell could not be started';
      if (!(err instanceof TargetError)) this.log.error('terminal start failed', { reason: String(err) });
      this.audit('ssh_login', 'failure', { reason });
      this.ended = true;
      this.onGone(this);
      throw new TerminalRefused(reason);
    }
    this.audit('ssh_login', 'success', { reason: 'ok' });
    if (this.route.recording)
      this.recorder = new AsciicastRecorder(this.open.cols, this.open.rows, TERM, this.deps.maxRecordingBytes);
    this.proc = proc;
    proc.stdin.on('error', () => undefined);
    for (const c of this.pending) proc.stdin.write(c);
    this.pending = [];
    const out = (c: Buffer) => {
      this.bytesOut += c.byteLength;
      this.ring.push(c);
      this.recorder?.output(c);
      this.viewer?.output(c);
    };
    proc.stdout.on('data', out);
    proc.stderr?.on('data', out);
    void proc.exit().then(
      (info) => this.end(target, 'code' in info ? info.code : null),
      () => this.end(target, null),
    );
    if (this.ended) proc.close(); // closed while starting
  }

  /** Attaches a socket: the replay of recent output first, then live output. The previous socket is told it was replaced. */
  attach(viewer: TerminalViewer, cols: number, rows: number): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
    const old = this.viewer;
    this.viewer = viewer;
    if (old && old !== viewer) old.replaced();
    const replay = this.ring.snapshot();
    if (replay.byteLength) viewer.output(replay);
    this.resize(cols, rows);
  }

  /** The socket left (closed, reset, or its data connection dropped): the shell waits for a reattach, then ends. */
  detach(viewer: TerminalViewer): void {
    if (this.viewer !== viewer) return;
    this.viewer = null;
    this.resume();
    if (this.ended) return;
    this.linger = setTimeout(
      () => this.close('no browser reattached in time'),
      this.deps.lingerMs ?? TERMINAL_LINGER_MS,
    );
    this.linger.unref();
  }

  input(data: Buffer): void {
    this.bytesIn += data.byteLength;
    if (this.proc) this.proc.stdin.write(data);
    else if (this.pendingBytes + data.byteLength <= MAX_PENDING_INPUT) {
      this.pending.push(data);
      this.pendingBytes += data.byteLength;
    }
  }

  resize(cols: number, rows: number): void {
    this.proc?.resize(rows, cols, 0, 0);
    this.recorder?.resize(cols, rows);
  }

  /** Backpressure from the attached socket: the shell's output waits (as over SSH) instead of piling up. */
  pause(): void {
    this.proc?.stdout.pause();
  }
  resume(): void {
    if (this.proc?.stdout.isPaused()) this.proc.stdout.resume();
  }

  /** Ends the shell (SIGHUP, as when an SSH connection drops); `end` follows when it exits. */
  close(why: string): void {
    if (this.ended) return;
    this.log.info('terminal closing', { reason: why });
    this.ended = true;
    this.proc?.close();
  }

  private end(target: Target, code: number | null): void {
    this.ended = true;
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
    target.close();
    this.viewer?.exited(code);
    this.viewer = null;
    this.onGone(this);
    this.audit('ssh_logout', 'success', {
      duration_ms: Date.now() - this.started,
      bytes_in: this.bytesIn,
      bytes_out: this.bytesOut,
      exit_code: code,
    });
    const rec = this.recorder;
    if (rec) {
      const ended = Date.now();
      this.deps.recordings.upload({
        id: `web-${this.open.session}-${rec.startedAt}`,
        environment_id: this.route.environment_id,
        username: this.login,
        source_ip: this.open.source_ip,
        started_at: rec.startedAt,
        ended_at: ended,
        cast: rec.finish(ended),
      });
    }
  }
}

export class TerminalSessions {
  private readonly sessions = new Map<string, TerminalSession>();

  constructor(private readonly deps: TerminalDeps) {}

  get size(): number {
    return this.sessions.size;
  }

  /** The session `open.session` of the environment, started when new. Refuses another user's session id. */
  async attach(route: Route, open: TerminalOpen, viewer: TerminalViewer): Promise<TerminalSession> {
    const key = `${route.environment_id}/${open.session}`;
    let s = this.sessions.get(key);
    if (s && s.open.user_id !== open.user_id)
      throw new TerminalRefused('this terminal session belongs to someone else');
    if (!s) {
      const max = this.deps.maxPerEnvironment ?? 16;
      const held = [...this.sessions.keys()].filter((k) => k.startsWith(`${route.environment_id}/`)).length;
      if (held >= max) throw new TerminalRefused(`this environment already has ${max} terminals open`);
      s = new TerminalSession(key, open, route, route.ssh_username || 'root', this.deps, (gone) => {
        if (this.sessions.get(gone.key) === gone) this.sessions.delete(gone.key);
      });
      this.sessions.set(key, s);
    }
    await s.ready;
    s.attach(viewer, open.cols, open.rows);
    return s;
  }

  /** The relay stops: every shell ends. */
  closeAll(): void {
    for (const s of this.sessions.values()) s.close('the relay is stopping');
  }
}
