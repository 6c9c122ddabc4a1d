// Image pulls through the agent from a local registry (Debian's docker-registry on loopback): progress up the tunnel, and failures' reasons.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CMD, MSG } from '@remotegpu/schema';
import type { ContainerCreateResult } from '@remotegpu/schema';
import { docker, loadServices } from '../../test/support/services.ts';
import { RUN, cleanupRun, envId, ok, startHarness } from './agent/harness.ts';
import { until } from '../../dev/src/until.ts';
import type { Harness } from './agent/harness.ts';

const services = loadServices();
const work = mkdtempSync(join(tmpdir(), 'agent-registry-'));
let registry: ChildProcess | null = null;
let h: Harness;
let repo = '';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

beforeAll(async () => {
  const port = await freePort();
  writeFileSync(
    join(work, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(work, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  registry = spawn('docker-registry', ['serve', join(work, 'config.yml')], { stdio: 'ignore' });
  await until('the registry', async () => (await fetch(`http://127.0.0.1:${port}/v2/`)).ok, { timeout: 15_000 });
  repo = `127.0.0.1:${port}/${RUN}`;
  // A small image of our own (busybox + 4 MiB of noise) so that the pull really downloads a layer.
  const rootfs = join(work, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const a of ['sh', 'sleep']) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'noise'), randomBytes(4 * 1024 * 1024));
  const tar = execFileSync('tar', ['--numeric-owner', '-C', rootfs, '-cf', '-', '.'], { maxBuffer: 64 * 1024 * 1024 });
  execFileSync('docker', ['import', '-c', 'CMD ["/bin/sh"]', '-', `${repo}/pulltest:v1`], {
    input: tar,
    env: { ...process.env, DOCKER_HOST: services.dockerHost },
  });
  await docker(['push', `${repo}/pulltest:v1`], 120_000);
  await docker(['rmi', `${repo}/pulltest:v1`]);
  h = await startHarness();
}, 180_000);

afterAll(async () => {
  await h?.close();
  await cleanupRun();
  await docker(['rmi', '-f', `${repo}/pulltest:v1`]).catch(() => '');
  registry?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

describe('image pull', () => {
  it('pulls a missing image with progress events, then creates the container', async () => {
    const environment_id = envId();
    const image = `${repo}/pulltest:v1`;
    const res = ok<ContainerCreateResult>(
      await h.edge.command(CMD.containerCreate, {
        environment_id,
        request_id: `req-${environment_id}`,
        owner_id: `${RUN}-puller`,
        image,
        has_sshd: false,
        gpu_devices: [],
        cpu_cores: 1,
        memory_gb: 1,
      }),
    );
    expect(res.container_id).toMatch(/^[0-9a-f]{64}$/);
    const progress = h.edge.events('pull.progress') as {
      environment_id: string;
      image: string;
      status: string;
      current?: number | null;
      total?: number | null;
    }[];
    const mine = progress.filter((p) => p.environment_id === environment_id);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine[0]).toMatchObject({ image, status: `pulling ${image}` });
    expect(mine.at(-1)).toMatchObject({ status: 'done' });
    expect(mine.some((p) => (p.total ?? 0) > 1024 * 1024)).toBe(true);
    expect((await docker(['image', 'inspect', '-f', '{{.Id}}', image])).trim()).toMatch(/^sha256:/);
  });

  it("a failing pull answers with the registry's reason and creates nothing", async () => {
    const environment_id = envId();
    const r = await h.edge.command(CMD.containerCreate, {
      environment_id,
      request_id: `req-${environment_id}`,
      owner_id: `${RUN}-puller`,
      image: `${repo}/missing:v1`,
      has_sshd: false,
      gpu_devices: [],
      cpu_cores: 1,
      memory_gb: 1,
    });
    expect(r).toMatchObject({ ok: false, error: { code: 'image_pull_failed', retryable: false } });
    if (!r.ok) expect(r.error.message).toMatch(/manifest unknown|not found/);
    expect(await docker(['ps', '-aq', '--filter', `label=remotegpu.env=${environment_id}`])).toBe('');
  });

  it('an unreachable registry is a retryable failure', async () => {
    const environment_id = envId();
    const port = await freePort();
    const r = await h.edge.command(CMD.containerCreate, {
      environment_id,
      request_id: `req-${environment_id}`,
      owner_id: `${RUN}-puller`,
      image: `127.0.0.1:${port}/x/y:z`,
      has_sshd: false,
      gpu_devices: [],
      cpu_cores: 1,
      memory_gb: 1,
    });
    expect(r).toMatchObject({ ok: false, error: { code: 'image_pull_failed', retryable: true } });
    if (!r.ok) expect(r.error.message).toMatch(/connection refused/);
    expect(h.edge.received.some((x) => x.msg.type === MSG.hello)).toBe(true);
  });
});
