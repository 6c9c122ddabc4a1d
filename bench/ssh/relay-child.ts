// The relay under benchmark, in its own process (as in production): started over IPC, reports its memory on request.
import { readFileSync } from 'node:fs';
import Dockerode from 'dockerode';
import type { Route } from '@remotegpu/schema';
import { startSshGateway } from '../../relay-agent/src/ssh/gateway.ts';
import type { RelayKeys } from '../../relay-agent/src/ssh/keys.ts';
import { procCpu } from './sshd.ts';
import { MemoryAudit, MemoryRecordings, MemoryRoutes, testLogger } from '../../relay-agent/test/ssh/fakes.ts';

interface Start {
  type: 'start';
  routes: Route[];
  keys: RelayKeys;
  portRange: [number, number];
  /** SSH worker processes (1: the gateway serves in this process). */
  workers: number;
}

/** This process's CPU seconds plus those of its live children (the SSH workers), from /proc; `sys`: the system part. */
function cpuSeconds(): { seconds: number; sys: number } {
  const u = process.cpuUsage();
  const r = { seconds: (u.user + u.system) / 1e6, sys: u.system / 1e6 };
  for (const pid of readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(' ')) {
    if (!pid) continue;
    const c = procCpu(Number(pid));
    r.seconds += c.total;
    r.sys += c.sys;
  }
  return r;
}

// The benchmark gone (crashed, interrupted): so is its relay, or it keeps the port for the next run.
process.on('disconnect', () => process.exit(0));

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
      workers: msg.workers,
      dockerUrl: 'unix:///nonexistent',
    });
    process.on('message', (m: { type: string }) => {
      if (m.type === 'stop') void gw.close().then(() => process.exit(0));
    });
    process.send?.({ type: 'ready', ports: gw.listeningPorts() });
  } else if (msg.type === 'cpu') {
    process.send?.({ type: 'cpu', ...cpuSeconds() });
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
