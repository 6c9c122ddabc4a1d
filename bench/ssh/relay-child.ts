// The relay under benchmark, in its own process (as in production): started over IPC, reports its memory on request.
import Dockerode from 'dockerode';
import type { Route } from '@remotegpu/schema';
import { startSshGateway } from '../../relay-agent/src/ssh/gateway.ts';
import type { RelayKeys } from '../../relay-agent/src/ssh/keys.ts';
import { MemoryAudit, MemoryRecordings, MemoryRoutes, testLogger } from '../../relay-agent/test/ssh/fakes.ts';

interface Start {
  type: 'start';
  routes: Route[];
  keys: RelayKeys;
  portRange: [number, number];
}

const routes = new MemoryRoutes();
const audit = new MemoryAudit();

process.on('message', async (msg: Start | { type: 'mem' | 'cpu' | 'stop' }) => {
  if (msg.type === 'start') {
    for (const r of msg.routes) routes.upsert(r);
    const gw = await startSshGateway({
      listen: { host: '127.0.0.1', port: 0 },
      portRange: msg.portRange,
      routes,
      audit,
      recordings: new MemoryRecordings(),
      keys: msg.keys,
      docker: new Dockerode({ socketPath: '/nonexistent' }),
      log: testLogger(),
      limits: { maxUnauthenticated: 1000 },
    });
    process.on('message', (m: { type: string }) => {
      if (m.type === 'stop') void gw.close().then(() => process.exit(0));
    });
    process.send?.({ type: 'ready', ports: gw.listeningPorts() });
  } else if (msg.type === 'cpu') {
    const u = process.cpuUsage();
    process.send?.({ type: 'cpu', us: u.user + u.system });
  } else if (msg.type === 'mem') {
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let i = 0; i < 3; i++) gc?.();
    const m = process.memoryUsage();
    process.send?.({
      type: 'mem',
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      audit: audit.events.length,
    });
  }
});
