// The fault suite's platform: the whole stack with one real relay, a busybox image and a loopback app machine,
// with the edge's slow clocks shortened by test-only bindings (the mechanisms are the same, only the waits shrink).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../dev/src/free-port.ts';
import { rentMachine } from '../../dev/src/rent-machine.ts';
import { until } from '../../dev/src/until.ts';
import type { PasswordAccess } from '../support/ssh-login.ts';
import { startPlatform, type Platform } from '../support/platform.ts';
import { loadServices } from '../support/services.ts';
import { startTargets, type Targets } from '../support/app-targets.ts';
import { startFreezeProxy, type FreezeProxy } from './freeze-proxy.ts';

export interface FaultRig {
  p: Platform;
  hostId: string;
  hostToken: string;
  busybox: number;
  /** The relay's state folder and SSH port range (a restarted relay keeps both). */
  stateDir: string;
  sshListen: string;
  sshPorts: string;
  /** The relay's log lines (JSON, its default level). */
  logs: string[];
  relay: ChildProcess;
  /** Between the relay and the edge when asked for (`proxy: true`): the test cuts the tunnel there. */
  proxy: FreezeProxy | null;
  /** Starts the relay (again) with the same state; `edge` dials a proxy instead of the edge. */
  startRelay(o?: { edge?: string; stateDir?: string }): ChildProcess;
  /** Waits for the relay's presence at the edge; `since`: a hello (or heartbeat) after that time, e.g. an edge restart. */
  online(want?: boolean, since?: number): Promise<void>;
  /** A renter's running busybox container: its id and the console's login block. */
  container(renter: string, name: string): Promise<{ id: string; access: PasswordAccess }>;
  /** A loopback "machine" at `ip` on this relay serving test apps, rented by `renter`: its environment id. */
  appBox(renter: string, ip: string): Promise<{ envId: string; targets: Targets }>;
}

export async function faultRig(o: {
  sshPorts: string;
  vars?: Record<string, string>;
  proxy?: boolean;
  /** The relay's state folder (default: a new temp folder). */
  stateDir?: string;
  /** More REMOTEGPU_* settings of the relay (e.g. a 1 s metrics interval). */
  relayEnv?: Record<string, string>;
}): Promise<FaultRig> {
  const p = await startPlatform({ vars: { REMOTEGPU_CACHE_CHECK_MS: '1000', ...o.vars } });
  const admin = await p.admin();
  const host = await p.api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', {
    token: admin,
    body: { name: 'faults-relay', public_ssh_host: '127.0.0.1' },
  });
  const img = await p.api<{ image: { id: number } }>('/api/v1/admin/images', {
    token: admin,
    body: { name: 'busybox:faults', docker_ref: loadServices().busyboxImage, hourly_price: 0.5 },
  });
  const logs: string[] = [];
  const proxy = o.proxy ? await startFreezeProxy({ host: '127.0.0.1', port: p.port }) : null;
  if (proxy) p.onClose(() => proxy.close());
  const rig: FaultRig = {
    p,
    hostId: host.body.host.id,
    hostToken: host.body.token,
    busybox: img.body.image.id,
    stateDir: o.stateDir ?? mkdtempSync(join(tmpdir(), 'faults-relay-')),
    sshListen: `127.0.0.1:${await freePort()}`,
    sshPorts: o.sshPorts,
    logs,
    relay: undefined as unknown as ChildProcess,
    proxy,
    startRelay(r = {}) {
      rig.relay = p.spawnAgent(rig.hostToken, {
        stateDir: r.stateDir ?? rig.stateDir,
        sshListen: rig.sshListen,
        sshPorts: rig.sshPorts,
        logLines: logs,
        ...(o.relayEnv ? { extraEnv: o.relayEnv } : {}),
        ...(r.edge || proxy ? { edge: r.edge ?? proxy!.url } : {}),
      });
      return rig.relay;
    },
    async online(want = true, since = 0) {
      await until(
        want ? 'the relay online' : 'the relay offline',
        async () => {
          const l = await p.api<{ items: { id: string; status: string; last_seen_at: string | null }[] }>(
            '/api/v1/admin/hosts',
            { token: admin },
          );
          const h = l.body.items?.find((x) => x.id === rig.hostId);
          if (want && since && Date.parse(h?.last_seen_at ?? '') < since) return false;
          return (h?.status === 'online') === want;
        },
        // The relay's reconnect backoff is capped at 60 s (full jitter): a reconnect is due within that after the edge is back.
        { timeout: 75_000, interval: 250 },
      );
    },
    async container(renter, name) {
      const r = await p.api<{ environment: { id: string; status: string } }>('/api/v1/environments', {
        token: renter,
        body: { name, image_id: rig.busybox, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
      });
      if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      const id = r.body.environment.id;
      const access = (await p.api<PasswordAccess>(`/api/v1/environments/${id}/access`, { token: renter })).body;
      return { id, access };
    },
    async appBox(renter, ip) {
      const targets = await startTargets(ip);
      p.onClose(() => targets.close());
      const { envId } = await rentMachine(p.api, {
        admin,
        renter,
        hostId: rig.hostId,
        targetIp: ip,
        name: `faults-app-${ip}`,
      });
      return { envId, targets };
    },
  };
  rig.startRelay();
  await rig.online();
  return rig;
}
