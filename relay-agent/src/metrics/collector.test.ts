import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import type { Route } from '@remotegpu/schema';
import { silentLogger } from '../log.ts';
import { MemoryRouteTable } from '../routes/route-table.ts';
import { StateStore } from '../state/store.ts';
import { MetricsCollector } from './collector.ts';

const physical = (id: string, port: number): Route => ({
  environment_id: id,
  type: 'physical',
  user_id: 'u1',
  ssh_port: 50001,
  ssh_username: 'root',
  target_ip: '127.0.0.1',
  target: { kind: 'ssh', ip: '127.0.0.1', port, host_key: null },
  password_hash: 'x',
  owner_keys: [],
  recording: false,
  running: true,
});

describe('metrics of physical machines', () => {
  it('reports TCP reachability and round-trip time of the target sshd', async () => {
    const srv = createServer((s) => s.end());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const up = (srv.address() as AddressInfo).port;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const down = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));

    const routes = new MemoryRouteTable(StateStore.open(':memory:'), silentLogger);
    routes.replaceAll([physical('aaaaaaaaaaaaaaaa', up), physical('bbbbbbbbbbbbbbbb', down)]);
    const docker = { listContainers: async () => [] } as unknown as Dockerode;
    const c = new MetricsCollector({
      docker,
      routes,
      nvidiaSmi: async () => null,
      log: silentLogger,
      send: () => {},
      now: () => new Date(0),
    });
    const samples = await c.collect();
    srv.close();
    const byId = Object.fromEntries(samples.map((s) => [s.environment_id, s]));
    expect(byId['aaaaaaaaaaaaaaaa']).toMatchObject({
      type: 'physical',
      reachable: true,
      timestamp: '1970-01-01T00:00:00.000Z',
    });
    expect(byId['aaaaaaaaaaaaaaaa']!.rtt_ms).toBeGreaterThanOrEqual(0);
    expect(byId['bbbbbbbbbbbbbbbb']).toMatchObject({ reachable: false, rtt_ms: null });
  });
});
