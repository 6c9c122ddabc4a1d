// Load and soak through the whole local stack (not CI): the edge in workerd, a real relay agent, a busybox container on
// the private dockerd (sessions' upstream legs are `docker exec` shells) and a loopback app. One command:
//   npx tsx bench/load/run.ts [--only idle,logins,streams,soak] [--sessions 1000] [--idle-s 600] [--rate 50]
//                             [--logins-s 60] [--streams 500] [--streams-s 30] [--soak-s 1800] [--ssh-workers 1]
// Prints one markdown table; each figure names what produced it. Root, loopback only, after `bash scripts/services.sh up`.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ssh2 from 'ssh2';
import WebSocket from 'ws';
import { freePort } from '../../dev/src/free-port.ts';
import { rentMachine } from '../../dev/src/rent-machine.ts';
import { ok } from '../../dev/src/json-api.ts';
import { startStack } from '../../dev/src/stack.ts';
import { until } from '../../dev/src/until.ts';
import { appGrant, appHost, rssOf, startTargets, workerdPid } from '../../test/support/app-targets.ts';
import { loadServices } from '../../test/support/services.ts';
import { load, type Target } from '../apps/load.ts';

const { values: a } = parseArgs({
  options: {
    only: { type: 'string', default: 'idle,logins,streams,soak' },
    sessions: { type: 'string', default: '1000' },
    'idle-s': { type: 'string', default: '600' },
    rate: { type: 'string', default: '50' },
    'logins-s': { type: 'string', default: '60' },
    streams: { type: 'string', default: '500' },
    'streams-s': { type: 'string', default: '30' },
    'soak-s': { type: 'string', default: '1800' },
    // The relay's SSH worker processes (its --ssh-workers); the stack kit's default for tests is 1.
    'ssh-workers': { type: 'string', default: '1' },
  },
});
process.env.REMOTEGPU_SSH_WORKERS = a['ssh-workers'];
const only = new Set(a.only.split(','));
const rows: string[] = [];
const row = (what: string, figure: string, note = '') => {
  rows.push(`| ${what} | ${figure} | ${note} |`);
  console.error(`${what}: ${figure} ${note}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? Number.NaN;
};
const fds = (pid: number) => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
};
const MiB = 1024 * 1024;

/** The pids of `pid` and all its node descendants (the relay's SSH worker processes, `--ssh-workers`), from /proc. */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(/^\d+ \([^)]*\) \S (\d+)/.exec(readFileSync(`/proc/${d}/stat`, 'utf8'))?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone meanwhile
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  // Node processes only: tsx's esbuild service is not the relay's.
  return out.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'node';
    } catch {
      return false;
    }
  });
}
/** Resident memory in bytes of the relay with its SSH workers, and their open file descriptors together. */
const relayRss = async (pid: number) => (await Promise.all(tree(pid).map(rssOf))).reduce((x, y) => x + y, 0);
/** CPU seconds (user + system) the relay and its SSH workers have used, from /proc/<pid>/stat (clock ticks of 10 ms). */
const relayCpuS = (pid: number) =>
  tree(pid).reduce((sum, p) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return sum + (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return sum;
    }
  }, 0);
/**
 * CPU seconds (user + system, with reaped children's: runc runs under the shims) of the Docker engine's processes
 * (dockerd, containerd, containerd-shim*): each login's shell is a `docker exec`.
 */
const dockerCpuS = () => {
  let sum = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = /\(([^)]*)\)/.exec(st)?.[1] ?? '';
      if (!/^(dockerd|containerd|containerd-shim)/.test(comm)) continue;
      const f = st.split(') ')[1]!.split(' ');
      sum += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return sum;
};
const relayFds = (pid: number) => tree(pid).reduce((n, p) => n + Math.max(0, fds(p)), 0);

interface Access {
  ssh_host: string;
  ssh_port: number;
  ssh_username: string;
  ssh_password: string;
}

/** One SSH session to a shell (keepalives on): resolves when the shell is open, with the time it took. */
function session(acc: Access): Promise<{ conn: ssh2.Client; ms: number; dropped: () => boolean }> {
  const t0 = performance.now();
  const conn = new ssh2.Client();
  let closed = false;
  conn.on('close', () => {
    closed = true;
  });
  return new Promise((resolve, reject) => {
    // ssh2 may emit 'error' more than once (e.g. a reset after a failed handshake): the first one rejects, every one
    // is handled (an unhandled one would end the benchmark).
    conn.on('error', reject);
    conn.once('ready', () =>
      conn.shell((err, ch) => {
        if (err) return reject(err);
        ch.once('data', () => resolve({ conn, ms: performance.now() - t0, dropped: () => closed }));
        ch.write('echo ready\n');
        ch.on('error', () => undefined);
      }),
    );
    conn.connect({
      host: acc.ssh_host,
      port: acc.ssh_port,
      username: acc.ssh_username,
      password: acc.ssh_password,
      keepaliveInterval: 15_000,
      readyTimeout: 60_000,
      hostVerifier: () => true,
    });
  });
}

const s = loadServices();
const stack = await startStack({ admin: { email: 'admin@load.test', password: randomBytes(12).toString('hex') } });
try {
  const admin = await stack.admin();
  const host = ok(
    'host',
    await stack.api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', {
      token: admin,
      body: { name: 'load', public_ssh_host: '127.0.0.1' },
    }),
  );
  const relay = stack.startRelay({
    token: host.token,
    sshListen: `127.0.0.1:${await freePort()}`,
    sshPorts: '29000-29099',
    stateDir: mkdtempSync(join(tmpdir(), 'load-relay-')),
    docker: s.dockerHost,
    logLevel: 'warn',
  });
  await until(
    'relay online',
    async () =>
      ok('hosts', await stack.api<{ items: { id: string; status: string }[] }>('/api/v1/admin/hosts', { token: admin }))
        .items[0]?.status === 'online',
    { timeout: 60_000 },
  );
  const img = ok(
    'image',
    await stack.api<{ image: { id: number } }>('/api/v1/admin/images', {
      token: admin,
      body: { name: 'busybox:load', docker_ref: s.busyboxImage, hourly_price: 0 },
    }),
  );
  const renter = ok(
    'register',
    await stack.api<{ token: string }>('/api/v1/auth/register', {
      body: { email: 'load@load.test', password: 'renter-password-1' },
    }),
  ).token;
  const env = ok(
    'create',
    await stack.api<{ environment: { id: string } }>('/api/v1/environments', {
      token: renter,
      body: { name: 'load', image_id: img.image.id, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
    }),
  ).environment.id;
  const acc = ok('access', await stack.api<Access>(`/api/v1/environments/${env}/access`, { token: renter }));
  stack.onClose(async () => {
    await stack.api(`/api/v1/environments/${env}`, { method: 'DELETE', token: renter });
  });
  await until('first login', async () => (await session(acc).then((x) => (x.conn.end(), true))) === true, {
    timeout: 30_000,
  });
  const relayPid = relay.pid!;

  if (only.has('idle')) {
    const n = Number(a.sessions);
    const before = await relayRss(relayPid);
    const open: Awaited<ReturnType<typeof session>>[] = [];
    let failed = 0;
    // Open in waves of 20 so the handshakes do not all queue at once.
    for (let i = 0; i < n; i += 20) {
      const wave = await Promise.allSettled(Array.from({ length: Math.min(20, n - i) }, () => session(acc)));
      for (const w of wave) w.status === 'fulfilled' ? open.push(w.value) : failed++;
    }
    await sleep(2000);
    const held = await relayRss(relayPid);
    await sleep(Number(a['idle-s']) * 1000);
    const dropped = open.filter((x) => x.dropped()).length;
    row(
      `${n} idle SSH sessions on one relay (${a['ssh-workers']} SSH worker(s)), ${a['idle-s']} s, keepalives 15 s`,
      `${((held - before) / open.length / 1024).toFixed(0)} KiB relay RSS per session; ${open.length} open, ${failed} failed to open, ${dropped} dropped`,
      `relay RSS ${(before / MiB).toFixed(0)} → ${(held / MiB).toFixed(0)} MiB`,
    );
    for (const x of open) x.conn.end();
    await sleep(2000);
  }

  if (only.has('logins')) {
    const rate = Number(a.rate);
    const secs = Number(a['logins-s']);
    const times: number[] = [];
    let failures = 0;
    const reasons = new Map<string, number>();
    const all: Promise<void>[] = [];
    const cpu0 = { relay: relayCpuS(relayPid), bench: process.cpuUsage(), docker: dockerCpuS() };
    const t0 = Date.now();
    for (let i = 0; i < rate * secs; i++) {
      const due = t0 + (i * 1000) / rate;
      await sleep(Math.max(0, due - Date.now()));
      all.push(
        session(acc).then(
          (x) => {
            times.push(x.ms);
            x.conn.end();
          },
          (err: Error) => {
            failures++;
            reasons.set(err.message, (reasons.get(err.message) ?? 0) + 1);
          },
        ),
      );
    }
    await Promise.all(all);
    const wall = (Date.now() - t0) / 1000;
    const relayCpu = relayCpuS(relayPid) - cpu0.relay;
    const dockerCpu = dockerCpuS() - cpu0.docker;
    const benchCpu = (() => {
      const u = process.cpuUsage(cpu0.bench);
      return (u.user + u.system) / 1e6;
    })();
    row(
      `${rate} logins/s for ${secs} s (password, shell), ${a['ssh-workers']} SSH worker(s)`,
      `time to shell p50 ${pct(times, 0.5).toFixed(0)} ms, p99 ${pct(times, 0.99).toFixed(0)} ms; ${failures} failures${
        reasons.size ? ` (${[...reasons].map(([m, n]) => `${n}× ${m}`).join('; ')})` : ''
      }`,
      `${(times.length / wall).toFixed(1)} logins/s achieved; CPU over ${wall.toFixed(0)} s: relay ${relayCpu.toFixed(1)} s, ` +
        `the Docker engine (exec) ${dockerCpu.toFixed(1)} s, the benchmark's ssh2 clients ${benchCpu.toFixed(1)} s`,
    );
  }

  const targets = await startTargets('127.0.0.10');
  stack.onClose(() => targets.close());
  const { envId: appEnv } = await rentMachine(stack.api, {
    admin,
    renter,
    hostId: host.host.id,
    targetIp: '127.0.0.10',
    name: 'load-app',
  });
  const cookie = await until(
    'app grant',
    async () => appGrant({ edgePort: stack.port, token: renter, envId: appEnv, port: targets.port }).catch(() => null),
    { timeout: 30_000 },
  );
  const target = (path: string) => ({
    host: '127.0.0.1',
    port: stack.port,
    path,
    headers: { host: appHost(appEnv, targets.port, stack.port), cookie },
  });

  if (only.has('streams')) {
    const n = Number(a.streams);
    const secs = Number(a['streams-s']);
    /** The mix against one way in: a fifth of the clients download 10 MiB per request, a fifth hold WebSockets echoing, the rest small requests. */
    const mix = async (via: (path: string) => Target) => {
      const first = via('/ws');
      const sockets = await Promise.all(
        Array.from({ length: Math.floor(n / 5) }, async () => {
          const ws = new WebSocket(`ws://${first.host}:${first.port}/ws`, { headers: first.headers });
          await new Promise((r, j) => ws.once('open', r).once('error', j));
          return ws;
        }),
      );
      let wsErrors = 0;
      const wsLat: number[] = [];
      let wsRunning = true;
      const wsLoops = sockets.map(async (ws) => {
        ws.on('error', () => wsErrors++);
        while (wsRunning && ws.readyState === WebSocket.OPEN) {
          const t = performance.now();
          await new Promise<void>((r) => {
            ws.once('message', () => r());
            ws.send('ping');
          });
          wsLat.push(performance.now() - t);
        }
      });
      const [small, big] = await Promise.all([
        load([via('/hello')], n - 2 * Math.floor(n / 5), secs * 1000),
        load([via(`/bytes/${10 * MiB}`)], Math.floor(n / 5), secs * 1000),
      ]);
      wsRunning = false;
      await Promise.all(wsLoops);
      for (const ws of sockets) ws.close();
      return `small: p99 ${small.p99.toFixed(0)} ms (${small.rps.toFixed(0)} req/s), ${small.errors} errors; 10 MiB: p99 ${big.p99.toFixed(0)} ms (${big.rps.toFixed(1)}/s, ${((big.rps * 10 * MiB) / MiB).toFixed(0)} MiB/s), ${big.errors} errors; WebSocket echo: p99 ${pct(wsLat, 0.99).toFixed(0)} ms, ${wsErrors} errors`;
    };
    const edge = await mix(target);
    // The reference, same run: the same mix straight to the app (no edge, no relay).
    const direct = await mix((path) => ({
      host: '127.0.0.10',
      port: targets.port,
      path,
      headers: { host: '127.0.0.10' },
    }));
    row(`${n} concurrent app streams through the edge, ${secs} s`, edge, `direct to the app, same mix: ${direct}`);
  }

  if (only.has('soak')) {
    const secs = Number(a['soak-s']);
    const wpid = await workerdPid();
    const sample = async () => ({
      relay: await relayRss(relayPid),
      workerd: await rssOf(wpid),
      rfd: relayFds(relayPid),
      wfd: fds(wpid),
    });
    // workerd's heap grows for about 3 minutes under this mix before it settles (the series shows it): warm up 5.
    const warmup = Math.min(300, Math.max(5, secs / 6));
    const stopAt = Date.now() + secs * 1000;
    let warm: Awaited<ReturnType<typeof sample>> | null = null;
    setTimeout(async () => {
      warm = await sample();
    }, warmup * 1000);
    // A series (20 points) tells a leak (steady climb) from a heap that settles at a higher level after warm-up.
    const series: { s: number; relay: number; workerd: number }[] = [];
    const t0 = Date.now();
    const every = Math.max(5, secs / 20) * 1000;
    const sampler = setInterval(async () => {
      const x = await sample();
      series.push({ s: Math.round((Date.now() - t0) / 1000), relay: x.relay, workerd: x.workerd });
    }, every);
    // Mixed: a login and a command every 200 ms, 20 app clients.
    const sshLoop = (async () => {
      while (Date.now() < stopAt) {
        await session(acc)
          .then((x) => x.conn.end())
          .catch(() => undefined);
        await sleep(200);
      }
    })();
    await Promise.all([sshLoop, load([target('/hello')], 20, secs * 1000, 0)]);
    clearInterval(sampler);
    await sleep(3000);
    const end = await sample();
    const w = warm ?? end;
    const grow = (x: number, y: number) => (((y - x) / x) * 100).toFixed(1);
    const mid = series[Math.floor(series.length / 2)] ?? { relay: w.relay, workerd: w.workerd };
    row(
      `soak, ${secs} s of mixed SSH logins and app requests`,
      `RSS after warm-up: relay ${grow(w.relay, end.relay)} %, workerd ${grow(w.workerd, end.workerd)} %; second half: relay ${grow(mid.relay, end.relay)} %, workerd ${grow(mid.workerd, end.workerd)} %; fds relay ${w.rfd} → ${end.rfd}, workerd ${w.wfd} → ${end.wfd}`,
      `warm-up ${warmup} s; RSS MiB (s: relay/workerd) ${series.map((x) => `${x.s}: ${(x.relay / MiB).toFixed(0)}/${(x.workerd / MiB).toFixed(0)}`).join(', ')}`,
    );
  }
} finally {
  await stack.close();
}
console.log('| scenario | figure | notes |');
console.log('| -------- | ------ | ----- |');
for (const r of rows) console.log(r);
