// The built agent as a real process: killed during a create and restarted (no duplicate), and reconnecting after an edge restart.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CMD, MSG } from '@remotegpu/schema';
import type { ContainerCreateArgs, ContainerCreateResult, Hello } from '@remotegpu/schema';
import { loadServices } from '../../test/support/services.ts';
import { FakeEdge } from '../src/testing/fake-edge.ts';
import { RUN, cleanupRun, containersOf, envId, inspect, ok } from './agent/harness.ts';
import { until } from '../../dev/src/until.ts';

const services = loadServices();
const root = join(import.meta.dirname, '..');
const stateDir = mkdtempSync(join(tmpdir(), 'agent-proc-'));
const procs = new Set<ChildProcess>();

function spawnAgent(edgeUrl: string): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [join(root, 'dist', 'cli.js')], {
    env: {
      ...process.env,
      REMOTEGPU_EDGE: edgeUrl,
      REMOTEGPU_TOKEN: 'test-token',
      REMOTEGPU_STATE_DIR: stateDir,
      REMOTEGPU_DOCKER: services.dockerHost,
      REMOTEGPU_SSH_LISTEN: '127.0.0.1:0',
      REMOTEGPU_SSH_PORTS: '61020-61030',
      REMOTEGPU_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.add(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) =>
    proc.once('exit', (code) => {
      procs.delete(proc);
      r(code);
    }),
  );
  return { proc, output: () => out, exited };
}

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'build.mjs')], { stdio: 'ignore' });
});
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  rmSync(stateDir, { recursive: true, force: true });
  await cleanupRun();
});

describe('the agent process', () => {
  it('killed during a create and restarted: the retried create returns the one container', async () => {
    const edge = await FakeEdge.start();
    try {
      const first = spawnAgent(edge.url);
      await edge.waitFor((m) => m.type === MSG.hello, 20_000);
      const args: ContainerCreateArgs = {
        environment_id: envId(),
        request_id: `req-${envId()}`,
        owner_id: `${RUN}-proc`,
        image: services.sshdImage,
        has_sshd: true,
        gpu_devices: [],
        cpu_cores: 1,
        memory_gb: 1,
      };
      edge.send({ type: MSG.cmd, id: 'first-try', name: CMD.containerCreate, deadline: Date.now() + 30_000, args });
      // Kill it the moment the container exists: it is then starting it or reading its host key.
      await until('the container to appear', async () => (await containersOf(args.environment_id)).length > 0, {
        timeout: 20_000,
      });
      first.proc.kill('SIGKILL');
      await first.exited;
      const answeredBeforeKill = edge.received.some((r) => r.msg.type === MSG.result && r.msg.id === 'first-try');

      const second = spawnAgent(edge.url);
      const hello = (await edge.waitFor((m, conn) => conn === 2 && m.type === MSG.hello, 20_000)) as Hello;
      expect(hello.containers?.map((c) => c.environment_id)).toContain(args.environment_id);
      // The edge retries with the same request id (a new command id).
      const res = ok<ContainerCreateResult>(await edge.command(CMD.containerCreate, args, { timeoutMs: 30_000 }));
      const all = await containersOf(args.environment_id);
      expect(all).toEqual([res.container_id]);
      expect((await inspect(res.container_id)).State.Running).toBe(true);
      expect(res.host_key).toMatch(/^ssh-ed25519 /);
      if (answeredBeforeKill)
        console.warn(
          'the first agent answered before it was killed: the restart check still holds, the kill window was missed',
        );
      second.proc.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      expect(second.output()).toContain('relay agent stopped');
    } finally {
      await edge.close();
    }
  });

  it('reconnects by itself when the edge stops and comes back on the same address', async () => {
    const edge = await FakeEdge.start();
    const port = edge.port;
    const agent = spawnAgent(edge.url);
    await edge.waitFor((m) => m.type === MSG.hello, 20_000);
    await edge.close();
    await new Promise((r) => setTimeout(r, 1500));
    const back = await FakeEdge.start({ port });
    try {
      await back.waitFor((m) => m.type === MSG.hello, 30_000);
      expect(
        ok<{ state: string }>(await back.command(CMD.containerRemove, { environment_id: envId(), container_id: null })),
      ).toEqual({ state: 'removed', ip: null });
      expect(agent.output()).toContain('tunnel down, reconnecting');
    } finally {
      agent.proc.kill('SIGTERM');
      await agent.exited;
      await back.close();
    }
  });

  it('a refused token exits non-zero with a clear message', async () => {
    const edge = await FakeEdge.start({ token: 'a-different-token' });
    try {
      const agent = spawnAgent(edge.url);
      expect(await agent.exited).toBe(3);
      expect(agent.output()).toMatch(/refused the host token \(HTTP 401\)/);
    } finally {
      await edge.close();
    }
  });
});
