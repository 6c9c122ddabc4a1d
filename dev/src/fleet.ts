// A local fleet of fake GPU hosts: N relay agents, each in its own network namespace with its own address, port
// range, state dir and fake nvidia-smi inventory, enrolled on a stack's edge (npm start -- --hosts N, and the tests).
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { join } from 'node:path';
import { ok } from './json-api.ts';
import { type FakeGpuGroup, writeFakeGpus } from './fake-gpus.ts';
import { createFleetNet, type FleetNet } from './netns.ts';
import { type Stack, stopChild } from './stack.ts';
import { until } from './until.ts';

export interface FleetOptions {
  /** Names the network (rgf<id>) and its LAN 10.231.<id>.0/24 (see createFleetNet). */
  netId: number;
  /** One entry per host: its fake GPUs. */
  hosts: FakeGpuGroup[][];
  /** Host i (from 1) serves SSH ports portBase + (i-1)*portsPerHost ... + portsPerHost-1. */
  portBase: number;
  portsPerHost?: number;
  /** The shared SSH port on every host's own address (default 2222). */
  sharedPort?: number;
  /** Hosts are named `${namePrefix}<i>` (default `gpu-host-`). */
  namePrefix?: string;
  stateDir: string;
  docker: string;
  logLevel?: string;
  stdio?: StdioOptions;
}

export interface FleetRelay {
  index: number;
  name: string;
  hostId: string;
  address: string;
  netns: string;
  sharedPort: number;
  sshPorts: string;
  gpus: FakeGpuGroup[];
  /** The running agent process (null once stopped). */
  process: ChildProcess | null;
  /** Starts the agent again (after a kill), with the same token, state and inventory. */
  start(): ChildProcess;
  /** SIGKILL: the host "dies" (no goodbye). */
  kill(): void;
}

export interface Fleet {
  net: FleetNet;
  relays: FleetRelay[];
  /** Waits until every relay is online at the edge with its GPUs. */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops the agents, then removes the namespaces and the bridge. */
  close(): Promise<void>;
}

/** Enrols a host by name, or (state kept from an earlier run) gives the existing one a new token. */
async function enrol(stack: Stack, name: string, address: string): Promise<{ id: string; token: string }> {
  const token = await stack.admin();
  const r = await stack.api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', {
    token,
    body: { name, public_ssh_host: address },
  });
  if (r.status === 201) return { id: r.body.host.id, token: r.body.token };
  const list = ok(
    'hosts',
    await stack.api<{ items: { id: string; name: string }[] }>('/api/v1/admin/hosts', { token }),
  );
  const found = list.items.find((h) => h.name === name);
  if (!found) throw new Error(`enrolling ${name} failed: ${r.status} ${JSON.stringify(r.body)}`);
  const rotated = ok(
    'rotate token',
    await stack.api<{ token: string }>(`/api/v1/admin/hosts/${found.id}/rotate-token`, { method: 'POST', token }),
  );
  return { id: found.id, token: rotated.token };
}

export async function startFleet(stack: Stack, o: FleetOptions): Promise<Fleet> {
  const net = createFleetNet(o.netId, o.hosts.length);
  const cleanup = () => net.close();
  process.on('exit', cleanup);
  const relays: FleetRelay[] = [];
  const close = async () => {
    await Promise.all(relays.map((r) => (r.process ? stopChild(r.process) : Promise.resolve())));
    net.close();
    process.off('exit', cleanup);
  };
  try {
    const edgePort = await net.forward({ host: '127.0.0.1', port: stack.port });
    const edgeUrl = `http://${net.gateway}:${edgePort}`;
    const per = o.portsPerHost ?? 100;
    for (const h of net.hosts) {
      const gpus = o.hosts[h.index - 1]!;
      const name = `${o.namePrefix ?? 'gpu-host-'}${h.index}`;
      const dir = join(o.stateDir, `host-${h.index}`);
      const fake = await writeFakeGpus(join(dir, 'gpus'), name, gpus);
      const { id, token } = await enrol(stack, name, h.address);
      const lo = o.portBase + (h.index - 1) * per;
      const sharedPort = o.sharedPort ?? 2222;
      const relay: FleetRelay = {
        index: h.index,
        name,
        hostId: id,
        address: h.address,
        netns: h.netns,
        sharedPort,
        sshPorts: `${lo}-${lo + per - 1}`,
        gpus,
        process: null,
        start() {
          const child = stack.startRelay({
            token,
            netns: h.netns,
            edge: edgeUrl,
            publicHost: h.address,
            sshListen: `${h.address}:${sharedPort}`,
            sshPorts: relay.sshPorts,
            stateDir: join(dir, 'relay'),
            docker: o.docker,
            ...(o.logLevel ? { logLevel: o.logLevel } : {}),
            ...(o.stdio ? { stdio: o.stdio } : {}),
            // Test only: the fake nvidia-smi first on the PATH, and GPUs trusted without an NVIDIA runtime.
            env: { PATH: `${fake.binDir}:${process.env.PATH}`, REMOTEGPU_FAKE_GPUS: 'true' },
          });
          relay.process = child;
          child.once('exit', () => {
            if (relay.process === child) relay.process = null;
          });
          return child;
        },
        kill() {
          relay.process?.kill('SIGKILL');
        },
      };
      relays.push(relay);
      relay.start();
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    net,
    relays,
    async ready(timeoutMs = 60_000) {
      await until(
        'every fleet host online with its GPUs',
        async () => {
          const list = ok(
            'hosts',
            await stack.api<{ items: { id: string; status: string; inventory: { gpus: unknown[] } | null }[] }>(
              '/api/v1/admin/hosts',
              { token: await stack.admin() },
            ),
          );
          return relays.every((r) => {
            const h = list.items.find((x) => x.id === r.hostId);
            const want = r.gpus.reduce((a, g) => a + g.count, 0);
            return h?.status === 'online' && h.inventory?.gpus.length === want;
          })
            ? true
            : null;
        },
        { timeout: timeoutMs, interval: 250 },
      );
    },
    close,
  };
}
