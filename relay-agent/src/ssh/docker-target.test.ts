// DockerExecTarget against a fake Engine: a PTY command whose stream ends while the relay still sets the size exits.
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { DockerExecTarget } from './docker-target.ts';

const log = { debug() {}, info() {}, warn() {}, error() {}, child: () => log };

function fakeDocker(): Dockerode {
  const exec = {
    async start() {
      // `exit 1` under a TTY: the Engine closes the stream as soon as the process is gone, with no output.
      const sock = new PassThrough();
      sock.resume();
      sock.end();
      return sock;
    },
    resize: () => new Promise((r) => setTimeout(r, 30)),
    inspect: async () => ({ Running: false, ExitCode: 1, Pid: 0 }),
  };
  return { getContainer: () => ({ exec: async () => exec }) } as unknown as Dockerode;
}

describe('DockerExecTarget', () => {
  it('a PTY command that exits before any output reports its exit code (no hang)', async () => {
    const t = new DockerExecTarget({ docker: fakeDocker(), containerId: 'c', ip: null, user: 'root', log });
    const p = await t.start({
      kind: 'exec',
      arg: 'exit 1',
      pty: { term: 'xterm', rows: 24, cols: 80, width: 0, height: 0, modes: {} },
      env: {},
    });
    const timeout = new Promise((r) => setTimeout(() => r('hung'), 1000));
    expect(await Promise.race([p.exit(), timeout])).toEqual({ code: 1 });
  });
});
