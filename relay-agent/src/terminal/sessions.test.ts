import { PassThrough } from 'node:stream';
import type { AuditRecord, Route, TerminalOpen } from '@remotegpu/schema';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SessionRecording } from '../contracts.ts';
import { silentLogger } from '../log.ts';
import type { ExitInfo, StartRequest, Target, TargetProcess } from '../ssh/target.ts';
import { TargetError } from '../ssh/target.ts';
import { TerminalRefused, TerminalSessions, type TerminalViewer } from './sessions.ts';

/** A shell stand-in: what the browser types comes back as output; close() is SIGHUP (exit 129). */
class FakeShell implements TargetProcess {
  stdin = new PassThrough();
  stdout = new PassThrough();
  stderr = null;
  sizes: [number, number][] = [];
  closed = false;
  private done!: (i: ExitInfo) => void;
  private readonly ended = new Promise<ExitInfo>((r) => (this.done = r));
  constructor(readonly req: StartRequest) {
    this.stdin.on('data', (c: Buffer) => this.stdout.write(c));
  }
  resize(rows: number, cols: number): void {
    this.sizes.push([cols, rows]);
  }
  signal(): void {}
  exit(): Promise<ExitInfo> {
    return this.ended;
  }
  quit(code: number): void {
    this.stdout.end();
    this.done({ code });
  }
  close(): void {
    this.closed = true;
    this.quit(129);
  }
}

class Viewer implements TerminalViewer {
  out = '';
  exit: number | null | undefined;
  wasReplaced = false;
  output(chunk: Buffer): void {
    this.out += chunk.toString('utf8');
  }
  exited(code: number | null): void {
    this.exit = code;
  }
  replaced(): void {
    this.wasReplaced = true;
  }
}

const route = (recording = false) =>
  ({ environment_id: 'abcdefgh01234567', type: 'container', ssh_username: '', recording }) as unknown as Route;
const open = (session = 'tab-session-000001', user_id = 'u1'): TerminalOpen => ({
  session,
  cols: 100,
  rows: 30,
  user_id,
  source_ip: '203.0.113.9',
});

let shells: FakeShell[];
let audit: AuditRecord[];
let recordings: SessionRecording[];
let failStart: string | null;

function sessions(extra: { maxPerEnvironment?: number } = {}): TerminalSessions {
  return new TerminalSessions({
    target: () =>
      ({
        start: async (req: StartRequest) => {
          if (failStart) throw new TargetError(failStart);
          const s = new FakeShell(req);
          shells.push(s);
          return s;
        },
        close: () => undefined,
      }) as unknown as Target,
    audit: { record: (e) => audit.push(e) },
    recordings: { upload: (r) => recordings.push(r) },
    log: silentLogger,
    maxRecordingBytes: 1 << 20,
    lingerMs: 60_000,
    ...extra,
  });
}

const tick = () => new Promise((r) => setImmediate(r));

beforeEach(() => {
  shells = [];
  audit = [];
  recordings = [];
  failStart = null;
});
afterEach(() => vi.useRealTimers());

describe('browser terminal sessions on the relay', () => {
  it('starts a login shell with a PTY of the browser size, audited as a web login', async () => {
    await sessions().attach(route(), open(), new Viewer());
    expect(shells[0]!.req).toMatchObject({ kind: 'shell', pty: { cols: 100, rows: 30, term: 'xterm-256color' } });
    expect(audit).toEqual([
      expect.objectContaining({
        event: 'ssh_login',
        status: 'success',
        username: 'root',
        source_ip: '203.0.113.9',
        detail: expect.objectContaining({ source: 'web', session: 'tab-session-000001' }),
      }),
    ]);
  });

  it('reattaches to the same shell with the recent output replayed, and takes over from an older socket', async () => {
    const all = sessions();
    const first = new Viewer();
    const s = await all.attach(route(), open(), first);
    s.input(Buffer.from('echo 你好\r\n'));
    await tick();
    expect(first.out).toBe('echo 你好\r\n');
    s.detach(first);
    const second = new Viewer();
    await all.attach(route(), { ...open(), cols: 80, rows: 20 }, second);
    expect(second.out).toBe('echo 你好\r\n');
    expect(shells).toHaveLength(1);
    expect(shells[0]!.sizes.at(-1)).toEqual([80, 20]);
    const third = new Viewer();
    await all.attach(route(), open(), third);
    expect(second.wasReplaced).toBe(true);
  });

  it('ends the shell (SIGHUP) once no socket reattached within the grace period', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const all = sessions();
    const v = new Viewer();
    const s = await all.attach(route(), open(), v);
    s.detach(v);
    vi.advanceTimersByTime(59_000);
    expect(shells[0]!.closed).toBe(false);
    vi.advanceTimersByTime(1_000);
    expect(shells[0]!.closed).toBe(true);
    await tick();
    expect(all.size).toBe(0);
    expect(audit.at(-1)).toMatchObject({ event: 'ssh_logout', detail: { source: 'web', exit_code: 129 } });
  });

  it('tells the browser when the shell exits, and uploads the recording when recording is on', async () => {
    const all = sessions();
    const v = new Viewer();
    const s = await all.attach(route(true), open(), v);
    s.input(Buffer.from('hi\n'));
    await tick();
    shells[0]!.quit(3);
    await tick();
    expect(v.exit).toBe(3);
    expect(all.size).toBe(0);
    expect(recordings).toHaveLength(1);
    expect(recordings[0]!.cast).toContain('"hi\\n"');
  });

  it("refuses another user's session id, more shells than allowed, and a target that will not start", async () => {
    const all = sessions({ maxPerEnvironment: 2 });
    await all.attach(route(), open('tab-session-000001'), new Viewer());
    await expect(all.attach(route(), open('tab-session-000001', 'u2'), new Viewer())).rejects.toThrow(TerminalRefused);
    await all.attach(route(), open('tab-session-000002'), new Viewer());
    await expect(all.attach(route(), open('tab-session-000003'), new Viewer())).rejects.toThrow(/already has 2/);
    failStart = 'environment abcdefgh01234567 is not running';
    await expect(sessions().attach(route(), open('tab-session-000004'), new Viewer())).rejects.toThrow(/not running/);
    expect(audit.at(-1)).toMatchObject({ event: 'ssh_login', status: 'failure' });
  });
});
