// ExecSignaller against a fake /proc: it signals only the exec's session inside its own container, never a reused PID.
import { describe, expect, it } from 'vitest';
import { ExecSignaller, nodeSignal, sshSignalName } from './exec-signals.ts';
import type { ProcFs } from './exec-signals.ts';

const CID = 'c0ffee'.padEnd(64, '0');
const OTHER = 'beef'.padEnd(64, '1');

/** pid → [cgroup container id, session id, comm]. */
function fakeProc(procs: Record<number, [string, number, string]>): ProcFs {
  return {
    list: () => ['self', 'stat', ...Object.keys(procs)],
    read: (path) => {
      const [, pid, file] = /^\/proc\/(\d+)\/(\w+)$/.exec(path) ?? [];
      const p = procs[Number(pid)];
      if (!p) throw new Error('ENOENT');
      if (file === 'cgroup') return `0::/docker/${p[0]}\n`;
      return `${pid} (${p[2]}) S 1 ${p[1]} ${p[1]} 0 -1 4194560 0 0`;
    },
  };
}

function recorder() {
  const sent: [number, string][] = [];
  return { sent, kill: (pid: number, sig: NodeJS.Signals) => (sent.push([pid, sig]), true) };
}

describe('ExecSignaller', () => {
  it('hangs up the exec and its session, not setsid children, other sessions or other containers', () => {
    const r = recorder();
    const s = new ExecSignaller(
      CID,
      fakeProc({
        100: [CID, 100, 'sh'],
        101: [CID, 100, 'sleep'],
        102: [CID, 100, 'we (ird) name'],
        103: [CID, 103, 'tmux: server'],
        200: [OTHER, 100, 'sleep'],
      }),
      r.kill,
    );
    expect(s.hangUp(100)).toBe(3);
    expect(r.sent).toEqual([
      [100, 'SIGHUP'],
      [100, 'SIGCONT'],
      [101, 'SIGHUP'],
      [101, 'SIGCONT'],
      [102, 'SIGHUP'],
      [102, 'SIGCONT'],
    ]);
  });

  it('signals nothing when the PID is gone or now belongs to another container', () => {
    const r = recorder();
    const s = new ExecSignaller(CID, fakeProc({ 100: [OTHER, 100, 'sh'], 101: [CID, 100, 'sleep'] }), r.kill);
    expect(s.hangUp(100)).toBe(0);
    expect(s.hangUp(999)).toBe(0);
    expect(s.signal(100, 'SIGTERM')).toBe(false);
    expect(r.sent).toEqual([]);
  });

  it('sends signal requests to the process group, as sshd does', () => {
    const r = recorder();
    const s = new ExecSignaller(CID, fakeProc({ 100: [CID, 100, 'sleep'] }), r.kill);
    expect(s.signal(100, 'SIGUSR1')).toBe(true);
    expect(r.sent).toEqual([[-100, 'SIGUSR1']]);
  });
});

describe('SSH signal names', () => {
  it('maps the names RFC 4254 defines and nothing else', () => {
    expect(nodeSignal('TERM')).toBe('SIGTERM');
    expect(nodeSignal('SIGKILL')).toBe('SIGKILL');
    expect(nodeSignal('usr1')).toBe('SIGUSR1');
    expect(nodeSignal('WINCH')).toBeNull();
    expect(nodeSignal('TERM; rm')).toBeNull();
    expect(sshSignalName(15)).toBe('TERM');
    expect(sshSignalName(28)).toBeNull();
  });
});
