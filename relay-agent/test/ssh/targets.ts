// The target kinds every client test runs against, as data: one row per kind, so another image is one more row.
import { readFileSync } from 'node:fs';
import type { Route } from '@remotegpu/schema';
import type { Harness } from './harness.ts';
import { waitForPort } from './harness.ts';

/** Features a target may lack; a row names each one it lacks, with the reason. */
export type Feature = 'git' | 'tmux';

export interface TargetRow {
  /** Column name in the README's "SSH clients and targets" table. */
  name: string;
  kind: 'sshd container' | 'exec container' | 'physical machine';
  /** True for `docker exec` targets, where the relay itself runs the session (PTY, signals, hang-up). */
  exec: boolean;
  /** Features this target cannot offer: the reason, and a shell test that succeeds on the target while it holds. */
  na: Partial<Record<Feature, NA>>;
  /** Starts what the row needs and adds its route. */
  setup(h: Harness): Promise<{ route: Route; password: string }>;
}

interface NA {
  reason: string;
  probe: string;
}

// git over SSH runs `git-upload-pack` / `git-receive-pack` by name on the target.
const noGit = (reason: string): NA => ({ reason, probe: '! command -v git-upload-pack' });
const noTmux = (reason: string): NA => ({ reason, probe: '! command -v tmux' });

export const TARGETS: TargetRow[] = [
  {
    name: 'sshd container',
    kind: 'sshd container',
    exec: false,
    na: { git: noGit('the image has no git'), tmux: noTmux('the image has no tmux') },
    async setup(h) {
      const c = await h.container(h.services.REMOTEGPU_TEST_SSHD_IMAGE, {
        env: [`SSH_AUTHORIZED_KEYS=${h.platformPublic}`],
        readyPort: 22,
      });
      const hostKey = readFileSync(h.services.REMOTEGPU_TEST_KNOWN_HOSTS, 'utf8').trim();
      return h.addRoute({
        type: 'container',
        target: { kind: 'ssh', ip: c.ip, port: 22, host_key: hostKey },
        target_ip: c.ip,
      });
    },
  },
  {
    name: 'exec container (stock image)',
    kind: 'exec container',
    exec: true,
    na: {},
    async setup(h) {
      const c = await h.container(h.services.REMOTEGPU_TEST_STOCK_IMAGE, { cmd: ['sleep', '100000'] });
      return h.addRoute({ type: 'container', target: { kind: 'docker', container_id: c.id }, target_ip: c.ip });
    },
  },
  {
    name: 'exec container (busybox)',
    kind: 'exec container',
    exec: true,
    na: { git: noGit('busybox has no git'), tmux: noTmux('busybox has no tmux') },
    async setup(h) {
      const c = await h.container(h.services.REMOTEGPU_TEST_BUSYBOX_IMAGE, { cmd: ['sleep', '100000'] });
      return h.addRoute({ type: 'container', target: { kind: 'docker', container_id: c.id }, target_ip: c.ip });
    },
  },
  {
    name: 'physical machine',
    kind: 'physical machine',
    exec: false,
    na: {},
    async setup(h) {
      const s = h.services;
      const hostKey = readFileSync(s.REMOTEGPU_PHYSICAL_KNOWN_HOSTS, 'utf8').trim();
      return h.addRoute({
        type: 'physical',
        target: {
          kind: 'ssh',
          ip: s.REMOTEGPU_PHYSICAL_HOST,
          port: Number(s.REMOTEGPU_PHYSICAL_PORT),
          host_key: hostKey,
        },
      });
    },
  },
];

/** Sets up every row once for a test file. */
export async function setupTargets(
  h: Harness,
  rows: TargetRow[] = TARGETS,
): Promise<Map<TargetRow, { route: Route; password: string }>> {
  const out = new Map<TargetRow, { route: Route; password: string }>();
  await Promise.all(rows.map(async (r) => out.set(r, await r.setup(h))));
  // The relay opens an environment's port when its route arrives: wait until each one listens.
  await Promise.all([...out.values()].map((e) => waitForPort('127.0.0.1', e.route.ssh_port)));
  return out;
}
