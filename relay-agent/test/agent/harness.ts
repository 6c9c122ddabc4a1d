// Integration harness: an in-process agent against a fake edge and the private dockerd, plus docker CLI helpers.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Result } from '@remotegpu/schema';
import { docker, loadServices } from '../../../test/support/services.ts';
import { startAgent } from '../../src/agent.ts';
import type { AgentOverrides, RunningAgent } from '../../src/agent.ts';
import type { AgentConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { FakeEdge } from '../../src/testing/fake-edge.ts';

/** A fresh environment id: 16 of [a-z0-9]. */
export function envId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(16)].map((b) => alphabet[b % 36]).join('');
}

/** Owner ids unique to this run, so parallel runs and other suites on the same dockerd never collide. */
export const RUN = `it${randomBytes(3).toString('hex')}`;

export interface Harness {
  edge: FakeEdge;
  agent: RunningAgent;
  stateDir: string;
  config: AgentConfig;
  close(): Promise<void>;
}

function agentConfig(edgeUrl: string, stateDir: string): AgentConfig {
  return {
    edge: edgeUrl,
    token: 'test-token',
    sshListen: { host: '127.0.0.1', port: 0 },
    sshPorts: [61000, 61010],
    publicHost: '127.0.0.1',
    docker: loadServices().dockerHost,
    stateDir,
    logLevel: 'warn',
    dataShards: 1,
    fakeGpus: false,
    sshWorkers: 1,
    sshNativeCrypto: 'require',
    metricsInterval: 10,
  };
}

export async function startHarness(
  overrides: AgentOverrides = {},
  configOver: Partial<AgentConfig> = {},
): Promise<Harness> {
  const edge = await FakeEdge.start();
  const stateDir = mkdtempSync(join(tmpdir(), 'agent-it-'));
  const config = { ...agentConfig(edge.url, stateDir), ...configOver };
  const log = createLogger({ level: process.env.AGENT_TEST_LOG === '1' ? 'debug' : 'error' });
  const agent = await startAgent(config, log, { metricsIntervalMs: 1000, ...overrides });
  await agent.tunnel.whenConnected();
  return {
    edge,
    agent,
    stateDir,
    config,
    close: async () => {
      await agent.stop();
      await edge.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Unwraps an ok result or fails with the agent's error. */
export function ok<T>(r: Result): T {
  if (!r.ok) throw new Error(`command failed: ${r.error.code}: ${r.error.message}`);
  return r.data as T;
}

export interface Inspect {
  Id: string;
  Name: string;
  State: { Running: boolean; Status: string };
  Config: { Labels: Record<string, string>; Env: string[]; Cmd: string[] | null; Hostname: string };
  HostConfig: {
    Memory: number;
    MemorySwap: number;
    NanoCpus: number;
    PidsLimit: number;
    Init: boolean;
    Privileged: boolean;
    SecurityOpt: string[] | null;
    CapDrop: string[] | null;
    NetworkMode: string;
    Binds: string[] | null;
    Mounts?: unknown[] | null;
    DeviceRequests: unknown[] | null;
  };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
  Mounts: unknown[];
}

export async function inspect(id: string): Promise<Inspect> {
  return (JSON.parse(await docker(['inspect', id])) as Inspect[])[0]!;
}

/** Containers (all states) labelled with this environment. */
export async function containersOf(environmentId: string): Promise<string[]> {
  const out = await docker(['ps', '-aq', '--no-trunc', '--filter', `label=remotegpu.env=${environmentId}`]);
  return out.split('\n').filter(Boolean);
}

/** Removes what this run created: containers and networks of its owners. */
export async function cleanupRun(): Promise<void> {
  const ids = (
    await docker([
      'ps',
      '-a',
      '--filter',
      'label=remotegpu.managed',
      '--format',
      '{{.ID}} {{.Label "remotegpu.owner"}}',
    ])
  )
    .split('\n')
    .filter((l) => l.includes(` ${RUN}`))
    .map((l) => l.split(' ')[0]!);
  if (ids.length) await docker(['rm', '-f', ...ids]).catch(() => '');
  const nets = (await docker(['network', 'ls', '--filter', 'label=remotegpu.managed=1', '--format', '{{.Name}}']))
    .split('\n')
    .filter((n) => n.startsWith(`remotegpu-u-${RUN}`));
  for (const n of nets) await docker(['network', 'rm', n]).catch(() => '');
}
