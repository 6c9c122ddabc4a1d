// SSH relay benchmark (not CI): throughput, login latency, idle-session memory and concurrency, relay vs direct OpenSSH.
// Run: npm run bench (all benchmarks) or npx tsx bench/ssh/run.ts, after `bash scripts/services.sh up --bench`;
// root, loopback only.
import { fork, spawn } from 'node:child_process';
import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import ssh2 from 'ssh2';
import type { Route } from '@remotegpu/schema';
import { hashPassword } from '../../relay-agent/test/ssh/fakes.ts';
import { type Ask, asker } from './ipc.ts';
import { startSshd } from './sshd.ts';
import { generateUsableKeyPair } from '../../relay-agent/src/ssh/keys.ts';
import { requireTools } from '../preflight.ts';

requireTools('bench/ssh', [
  { need: 'ssh', pkg: 'openssh-client' },
  { need: 'scp', pkg: 'openssh-client' },
  { need: 'sftp', pkg: 'openssh-client' },
  { need: '/usr/sbin/sshd', pkg: 'openssh-server' },
]);

// Fixed ports below the ephemeral range (32768+), from BENCH_PORT_BASE (default 29500, so that two benchmarks on one
// machine can each take a block of 100): the sshd under test at +22 and the relay's environment ports at +50..+99.
const PORT_BASE = Number(process.env.BENCH_PORT_BASE ?? 29_500);
const DIR = `/tmp/ssh-bench-${PORT_BASE}`;
const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_MIB ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 500);
const ENV = 'benchenv00000001';
const SHM = `/dev/shm/ssh-bench-${PORT_BASE}`;
/** Which parts run (comma list): transfers, logins, concurrent, memory, workers. Default: all. */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'transfers,logins,concurrent,memory,workers').split(','));
/** Transfers to run (substring of the row name), e.g. BENCH_ONLY=upload,download for a profile. */
const ONLY = process.env.BENCH_ONLY?.split(',') ?? null;
/** Write the relay's V8 CPU profile (node --cpu-prof) into this directory when it stops. */
const CPU_PROF = process.env.BENCH_CPU_PROF;
// BENCH_RELAY_NODE_ARGS: extra node flags for the relay process (experiments, e.g. --max-semi-space-size=32).
// BENCH_KINDS: directions of the concurrent rows in the workers table, `up,down` by default; `down` alone measures
// downloads without the garbage the uploads before them leave in the relay's heap.
/** The relay's SSH workers in the workers rows ("N workers"); default: the machine's cores. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? availableParallelism());
const SSHD_PORT = PORT_BASE + 22;
const RELAY_RANGE: [number, number] = [PORT_BASE + 50, PORT_BASE + 99];

function sh(cmd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('close', (code) =>
      code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`${cmd}: exit ${code}`)),
    );
  });
}

function firstByte(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let ms = -1;
    c.stdout.once('data', () => (ms = Number(process.hrtime.bigint() - t0) / 1e6));
    c.on('close', (code) => (code === 0 && ms >= 0 ? resolve(ms) : reject(new Error(`ssh exit ${code}`))));
  });
}

/** Busy CPU seconds of the whole machine since boot (all cores: /proc/stat's first line less idle and iowait). */
function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal; guest time is already in user
  return (total - f[3]! - f[4]!) / 100; // USER_HZ
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  rmSync(DIR, { recursive: true, force: true });
  const relayKeysEd = generateUsableKeyPair('ed25519');
  const platform = generateUsableKeyPair('ed25519', { comment: 'bench-platform' });
  const sshd = await startSshd(join(DIR, 'sshd'), '127.0.0.3', SSHD_PORT, [platform.public.trim()]);
  const big = join(DIR, 'big');
  const fd = openSync(big, 'w');
  for (let i = 0; i < SIZE; i++) writeSync(fd, randomBytes(MiB));
  closeSync(fd);
  const ownerKey = join(DIR, 'sshd', 'client_ed25519'); // the renter uses the same key on both paths
  const knownRelay = join(DIR, 'known_relay');
  (await import('node:fs')).writeFileSync(knownRelay, `* ${relayKeysEd.public.trim()}\n`);

  const route: Route = {
    environment_id: ENV,
    type: 'physical',
    user_id: 'bench',
    ssh_port: RELAY_RANGE[1],
    ssh_username: 'root',
    target_ip: sshd.host,
    target: { kind: 'ssh', ip: sshd.host, port: sshd.port, host_key: sshd.hostKeyLine },
    password_hash: hashPassword('bench-password'),
    owner_keys: [readFileSync(`${ownerKey}.pub`, 'utf8').trim()],
    recording: false,
    running: true,
  };
  const keys = {
    hostKeys: [relayKeysEd.private],
    platformPrivateKey: platform.private,
    platformPublicKey: platform.public,
  };
  const relay = await startRelay(route, keys, 1);
  const ask = relay.ask;

  const common = [
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-i',
    ownerKey,
    '-o',
    'Compression=no',
    '-c',
    'aes128-gcm@openssh.com',
    '-o',
    'StrictHostKeyChecking=yes',
  ];
  const paths = {
    direct: {
      ssh: [...common, '-o', `UserKnownHostsFile=${sshd.knownHosts}`, '-p', String(sshd.port)],
      host: `root@${sshd.host}`,
    },
    relay: {
      ssh: [...common, '-o', `UserKnownHostsFile=${knownRelay}`, '-p', String(route.ssh_port)],
      host: 'root@127.0.0.1',
    },
  };
  type P = keyof typeof paths;
  const q = (xs: string[]) => xs.map((x) => `'${x}'`).join(' ');
  const scpArgs = (p: P) => q(paths[p].ssh.map((o) => (o === '-p' ? '-P' : o)));
  const sftpBatch = join(DIR, 'batch');
  const tests: [string, (p: P) => string][] = [
    ['upload (ssh cat > /dev/null)', (p) => `ssh ${q(paths[p].ssh)} ${paths[p].host} 'cat > /dev/null' < ${big}`],
    ['download (ssh cat file)', (p) => `ssh ${q(paths[p].ssh)} ${paths[p].host} 'cat ${big}' > /dev/null`],
    // scp refuses to truncate /dev/null: write to tmpfs instead.
    ['scp upload (SFTP mode)', (p) => `scp ${scpArgs(p)} ${big} ${paths[p].host}:${SHM}.up`],
    ['scp download (SFTP mode)', (p) => `scp ${scpArgs(p)} ${paths[p].host}:${big} ${SHM}.down`],
    [
      'sftp put',
      (p) =>
        `printf 'put ${big} /dev/null\\n' > ${sftpBatch}.${p}; sftp ${scpArgs(p)} -b ${sftpBatch}.${p} ${paths[p].host} > /dev/null`,
    ],
    [
      'sftp get',
      (p) =>
        `printf 'get ${big} /dev/null\\n' > ${sftpBatch}.${p}g; sftp ${scpArgs(p)} -b ${sftpBatch}.${p}g ${paths[p].host} > /dev/null`,
    ],
  ];
  const rows: string[][] = [];
  const mbps = (ms: number, mib = SIZE) => (mib * MiB) / 1e6 / (ms / 1000);
  for (const [name, cmd] of PARTS.has('transfers') ? tests : []) {
    if (ONLY && !ONLY.some((o) => name.startsWith(o))) continue;
    const t: Record<P, number[]> = { direct: [], relay: [] };
    let relayCpu = 0;
    let relaySys = 0;
    let sshdCpu = 0;
    let sshdDirectCpu = 0;
    const machine = { direct: 0, relay: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      const d0 = sshd.cpuSeconds();
      const md = machineBusySeconds();
      t.direct.push(await sh(cmd('direct')));
      await sshd.settled();
      machine.direct += machineBusySeconds() - md;
      sshdDirectCpu += sshd.cpuSeconds() - d0;
      const c0 = await relay.cpu();
      const s0 = sshd.cpuSeconds();
      const mr = machineBusySeconds();
      t.relay.push(await sh(cmd('relay')));
      const c1 = await relay.cpu();
      relayCpu += c1.seconds - c0.seconds;
      relaySys += c1.sys - c0.sys;
      await sshd.settled();
      machine.relay += machineBusySeconds() - mr;
      sshdCpu += sshd.cpuSeconds() - s0;
    }
    const d = mbps(median(t.direct));
    const r = mbps(median(t.relay));
    const gib = (ROUNDS * SIZE) / 1024;
    rows.push([
      name,
      `${d.toFixed(0)} MB/s`,
      `${r.toFixed(0)} MB/s`,
      (r / d).toFixed(2),
      `${(relayCpu / gib).toFixed(2)} (${(relaySys / gib).toFixed(2)}) s/GiB`,
      `${(sshdCpu / gib).toFixed(2)} (${(sshdDirectCpu / gib).toFixed(2)}) s/GiB`,
      `${(machine.direct / gib).toFixed(2)} → ${(machine.relay / gib).toFixed(2)} (${(machine.direct / machine.relay).toFixed(2)})`,
    ]);
  }

  // Login to first byte, same key exchange on both paths (ssh2 offers no post-quantum KEX), then OpenSSH's default.
  const login = async (p: P, extra: string[]) => {
    const xs: number[] = [];
    for (let i = 0; i < 10; i++) xs.push(await firstByte([...paths[p].ssh, ...extra, paths[p].host, 'echo x']));
    return median(xs);
  };
  const curve = ['-o', 'KexAlgorithms=curve25519-sha256'];
  if (PARTS.has('logins')) {
    const [ld, lr] = [await login('direct', curve), await login('relay', curve)];
    rows.push(['login to first byte (curve25519)', `${ld.toFixed(0)} ms`, `${lr.toFixed(0)} ms`, (lr / ld).toFixed(2)]);
    const ldPq = await login('direct', []);
    rows.push([
      'login to first byte (direct: default PQ KEX)',
      `${ldPq.toFixed(0)} ms`,
      `${lr.toFixed(0)} ms`,
      (lr / ldPq).toFixed(2),
    ]);
  }

  // 8 concurrent 64 MiB uploads and downloads.
  for (const [name, what] of PARTS.has('concurrent')
    ? ([
        ['8 concurrent uploads', 'up'],
        ['8 concurrent downloads', 'down'],
      ] as const)
    : []) {
    const res: Record<P, number> = { direct: 0, relay: 0 };
    for (const p of ['direct', 'relay'] as P[]) {
      const t0 = Date.now();
      await Promise.all(
        Array.from({ length: 8 }, () =>
          sh(
            what === 'up'
              ? `head -c ${64 * MiB} ${big} | ssh ${q(paths[p].ssh)} ${paths[p].host} 'cat > /dev/null'`
              : `ssh ${q(paths[p].ssh)} ${paths[p].host} 'head -c ${64 * MiB} ${big}' > /dev/null`,
          ),
        ),
      );
      res[p] = mbps(Date.now() - t0, 8 * 64);
    }
    rows.push([
      `${name} (aggregate)`,
      `${res.direct.toFixed(0)} MB/s`,
      `${res.relay.toFixed(0)} MB/s`,
      (res.relay / res.direct).toFixed(2),
    ]);
  }

  if (PARTS.has('memory')) rows.push(...(await idleMemory(route, readFileSync(ownerKey, 'utf8'), ask)));
  await relay.stop();

  // The relay with 1 and N SSH workers: logins per second (to first byte) and the aggregate throughput of 8 and 32
  // concurrent transfers (SIZE MiB in total, split between them). CPU is the relay's, all its processes.
  if (PARTS.has('workers')) {
    const counts = [...new Set([1, WORKERS])];
    const res = new Map<string, Map<number, string>>();
    const put = (row: string, n: number, v: string) => {
      if (!res.has(row)) res.set(row, new Map());
      res.get(row)!.set(n, v);
    };
    for (const n of counts) {
      const rw = await startRelay(route, keys, n);
      const LOGINS = Number(process.env.BENCH_LOGINS ?? 200);
      const [r0, s0, m0] = [(await rw.cpu()).seconds, sshd.cpuSeconds(), machineBusySeconds()];
      const t0 = Date.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next++ < LOGINS) await firstByte([...paths.relay.ssh, ...curve, paths.relay.host, 'echo x']);
        }),
      );
      const wall = Date.now() - t0;
      await sshd.settled();
      const perLogin = (s: number) => `${((s * 1000) / LOGINS).toFixed(1)}`;
      put('logins per second to first byte (8 at a time, curve25519)', n, `${((LOGINS * 1000) / wall).toFixed(1)}/s`);
      put(
        'CPU ms per login: relay / sshd and session / whole machine',
        n,
        `${perLogin((await rw.cpu()).seconds - r0)} / ${perLogin(sshd.cpuSeconds() - s0)} / ${perLogin(machineBusySeconds() - m0)}`,
      );
      for (const k of [8, 32]) {
        for (const what of (process.env.BENCH_KINDS ?? 'up,down').split(',') as ('up' | 'down')[]) {
          const each = Math.max(1, Math.floor(SIZE / k));
          const c0 = (await rw.cpu()).seconds;
          const s0 = Date.now();
          await Promise.all(
            Array.from({ length: k }, () =>
              sh(
                what === 'up'
                  ? `head -c ${each * MiB} ${big} | ssh ${q(paths.relay.ssh)} ${paths.relay.host} 'cat > /dev/null'`
                  : `ssh ${q(paths.relay.ssh)} ${paths.relay.host} 'head -c ${each * MiB} ${big}' > /dev/null`,
              ),
            ),
          );
          const cpu = (await rw.cpu()).seconds - c0;
          put(
            `${k} concurrent ${what === 'up' ? 'uploads' : 'downloads'} (aggregate, relay CPU)`,
            n,
            `${mbps(Date.now() - s0, k * each).toFixed(0)} MB/s, ${(cpu / ((k * each) / 1024)).toFixed(2)} s/GiB`,
          );
        }
      }
      await rw.stop();
    }
    workerRows.push(['', ...counts.map((n) => `${n} worker${n > 1 ? 's' : ''}`)]);
    for (const [row, byN] of res) workerRows.push([row, ...counts.map((n) => byN.get(n) ?? '')]);
  }
  sshd.stop();
  for (const f of [big, `${SHM}.up`, `${SHM}.down`]) rmSync(f, { force: true });
  const w = [64, 14, 22, 6, 20, 22, 24];
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  console.log(
    `\nSSH relay benchmark: ${SIZE} MiB transfers, aes128-gcm, median of ${ROUNDS}; relay in its own process\n`,
  );
  console.log(line(['', 'direct', 'relay', 'ratio', 'relay CPU (sys)', 'sshd CPU (direct)', 'machine s/GiB (ratio)']));
  console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  for (const r of rows) console.log(line([...r, '', '', ''].slice(0, w.length)));
  if (workerRows.length) {
    const ww = [64, 28, 28];
    const wl = (r: string[]) => `| ${r.map((c, i) => c.padEnd(ww[i] ?? 28)).join(' | ')} |`;
    console.log(
      `\nThe relay with 1 and ${WORKERS} SSH workers (${availableParallelism()} cores), ${SIZE} MiB per row\n`,
    );
    console.log(wl(workerRows[0]!));
    console.log(`|${workerRows[0]!.map((_, i) => '-'.repeat((ww[i] ?? 28) + 2)).join('|')}|`);
    for (const r of workerRows.slice(1)) console.log(wl(r));
  }
  console.log(
    '\nrelay CPU: user + system seconds of the relay (all its processes) per GiB moved, the system part in brackets; sshd CPU: the target sshd and ' +
      'its session processes (incl. the remote command), over the relay transfer and (in brackets) the direct one. ' +
      'machine: busy CPU seconds of all cores per GiB, direct → relay (client, sshd and relay share the cores); in ' +
      'brackets their ratio, the most the relay path can reach of direct when every core is busy (one transfer leaves ' +
      'some idle: ssh, sshd and the relay are one process each).',
  );
}

const workerRows: string[][] = [];

interface Relay {
  ask: Ask;
  /** User + system CPU seconds of the relay process and its workers so far, and the system part. */
  cpu(): Promise<{ seconds: number; sys: number }>;
  stop(): Promise<void>;
}

/** The relay in its own process with `workers` SSH workers (1: in the process itself). */
async function startRelay(route: Route, keys: object, workers: number): Promise<Relay> {
  const child = fork(join(import.meta.dirname, 'relay-child.ts'), [], {
    execArgv: [
      '--expose-gc',
      '--import',
      'tsx',
      ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []),
      ...(process.env.BENCH_RELAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = asker(child);
  await ask({ type: 'start', routes: [route], keys, portRange: RELAY_RANGE, workers }, 'ready');
  return {
    ask,
    cpu: () => ask<{ seconds: number; sys: number }>({ type: 'cpu' }, 'cpu'),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
      }),
  };
}

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
}

async function idleMemory(route: Route, key: string, ask: Ask): Promise<string[][]> {
  const conns: ssh2.Client[] = [];
  const mem = () => ask<Mem>({ type: 'mem' }, 'mem');
  const base = await mem();
  const connect = () =>
    new Promise<ssh2.Client>((resolve, reject) => {
      const c = new ssh2.Client();
      c.once('ready', () => resolve(c)).once('error', reject);
      c.connect({ host: '127.0.0.1', port: route.ssh_port, username: 'root', privateKey: key, readyTimeout: 60_000 });
    });
  for (let i = 0; i < SESSIONS; i += 25)
    conns.push(...(await Promise.all(Array.from({ length: Math.min(25, SESSIONS - i) }, connect))));
  const afterConn = await mem();
  for (let i = 0; i < conns.length; i += 25) {
    // An idle command with a PTY, not a login shell: 500 interactive shells would each run the target's ~/.bashrc.
    await Promise.all(
      conns
        .slice(i, i + 25)
        .map(
          (c) =>
            new Promise<void>((resolve, reject) =>
              c.exec('sleep 3600', { pty: { rows: 24, cols: 80 } }, (err) => (err ? reject(err) : resolve())),
            ),
        ),
    );
  }
  const afterShell = await mem();
  for (const c of conns) c.end();
  // JS heap + external (Buffers, cipher state) after GC; RSS is too coarse here (freed pages are not returned at once).
  const per = (a: Mem) =>
    `${((a.heapUsed + a.external - base.heapUsed - base.external) / SESSIONS / 1024).toFixed(1)} KiB`;
  return [
    [`memory per idle connection, ${SESSIONS} open (heap + external)`, '', per(afterConn), ''],
    [`memory per idle PTY session, ${SESSIONS} open (incl. upstream leg)`, '', per(afterShell), ''],
  ];
}

await main();
