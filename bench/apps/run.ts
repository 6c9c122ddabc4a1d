// App traffic benchmark (not CI): the whole path (workerd edge → data shard DOs → real agent → app) with K = 1, 2, 4
// data shards, against the app directly and Debian's nginx (plain, and Lua + a Redis lookup per request). One table.
// Run: npm run bench (all benchmarks) or npx tsx bench/apps/run.ts, after `bash scripts/services.sh up --bench`;
// loopback only; BENCH_SECONDS per cell, default 4.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shardOf } from '@remotegpu/schema';
import { REPO_ROOT } from '../../dev/src/edge-server.ts';
import { rentMachine } from '../../dev/src/rent-machine.ts';
import { ok } from '../../dev/src/json-api.ts';
import { readServicesEnv } from '../../dev/src/services-env.ts';
import { startStack } from '../../dev/src/stack.ts';
import { until } from '../../dev/src/until.ts';
import { bulk, load, type LoadResult, type Target } from './load.ts';
import { luaAvailable, startNginx } from './nginx.ts';
import { freePort } from '../../dev/src/free-port.ts';
import { appGet, appGrant } from '../../test/support/app-targets.ts';
import { requireTools } from '../preflight.ts';

requireTools('bench/apps', [
  { need: 'redis-server', pkg: 'redis-server' },
  { need: 'nginx', pkg: 'nginx' },
  { need: '/usr/lib/nginx/modules/ngx_http_lua_module.so', pkg: 'libnginx-mod-http-lua' },
  { need: '/usr/share/lua/5.1/nginx/redis.lua', pkg: 'lua-nginx-redis' },
]);

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const BULK = 100 * 1024 * 1024;
const APP_IP = '127.0.0.3';
const ENVS_32 = 8; // 32 clients spread over 8 environments of one relay, balanced over its shards

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
}

interface Row {
  path: string;
  one: LoadResult;
  many: LoadResult;
  bulk: number;
  cpu: string;
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

function childNamed(name: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const m = /^\d+ \(([^)]*)\) \S (\d+)/.exec(st);
      if (m && m[1] === name && Number(m[2]) === process.pid) return Number(d);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');

async function main(): Promise<void> {
  const stack = await startStack();
  const dir = stack.dir;
  const stops: (() => Promise<unknown>)[] = [];
  const children: ChildProcess[] = [];
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });
  try {
    // The tunnel rows measure workerd directly: the local front stands in for Cloudflare's, which is not ours to time.
    const edgePort = Number(new URL(stack.edge.workerdUrl).port);
    const api = async <T>(path: string, token: string | null, body?: unknown): Promise<T> =>
      ok(path, await stack.api<T>(path, { token, body }));
    const admin = await stack.admin();
    const host = await api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', admin, {
      name: 'bench-relay',
      public_ssh_host: '127.0.0.1',
    });
    const renter = (
      await api<{ token: string }>('/api/v1/auth/register', null, {
        email: 'renter@bench.test',
        password: 'renter-password-1',
      })
    ).token;

    const target = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/apps/target.ts'), APP_IP], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(target);
    const appPort = Number(await firstLine(target));

    const envs: string[] = [];
    for (let i = 0; i < 32; i++) {
      const rented = await rentMachine(stack.api, {
        admin,
        renter,
        hostId: host.host.id,
        targetIp: APP_IP,
        name: `bench-${i}`,
      });
      envs.push(rented.envId);
    }
    // Each app opens with the owner's host-only cookie, got the way a browser gets it: a one-use console link.
    // (node:http, not fetch: undici drops a Host header, and the request would reach the console instead.)
    const cookies = new Map<string, string>();
    for (const envId of envs) {
      cookies.set(envId, await appGrant({ edgePort, token: renter, envId, port: appPort }));
    }
    const via = (envId: string, path: string): Target => ({
      host: '127.0.0.1',
      port: edgePort,
      path,
      headers: { host: `${envId}-${appPort}.container.localhost:${edgePort}`, cookie: cookies.get(envId)! },
    });

    const rows: Row[] = [];
    const workerd = childNamed('workerd');
    let agentPid: number | undefined;
    const measure = async (name: string, one: Target, many: Target[], bulkTarget: Target, tunnel = false) => {
      const r1 = await load([one], 1, SECONDS * 1000);
      const c0 = [cpuSeconds(workerd), cpuSeconds(agentPid)];
      const r32 = await load(many, 32, SECONDS * 1000);
      const n = r32.rps * (SECONDS + 1); // the warm-up second runs at about the same rate
      const cpu = tunnel
        ? `${f(((cpuSeconds(workerd) - c0[0]!) / n) * 1e6)} / ${f(((cpuSeconds(agentPid) - c0[1]!) / n) * 1e6)}`
        : '-';
      const mbps: number[] = [];
      for (let i = 0; i < 3; i++) mbps.push(await bulk(bulkTarget, BULK));
      rows.push({ path: name, one: r1, many: r32, bulk: mbps.sort((a, b) => a - b)[1]!, cpu });
      console.error(`measured: ${name}`);
    };

    const only = process.env.BENCH_ONLY_TUNNEL === '1';
    const direct = (path: string): Target => ({ host: APP_IP, port: appPort, path, headers: { host: 'app' } });
    await measure('direct to the app', direct('/1k'), [direct('/1k')], direct(`/bytes/${BULK}`));
    if (!only) {
      const ng = await startNginx(dir, {
        plainPort: await freePort(),
        luaPort: await freePort(),
        target: `${APP_IP}:${appPort}`,
        redisPort: Number(new URL(stack.services.redisUrl).port),
      });
      stops.push(() => ng.stop());
      const viaNginx = (port: number, path: string): Target => ({
        host: '127.0.0.1',
        port,
        path,
        headers: { host: `${envs[0]}-${appPort}.container.localhost` },
      });
      await measure(
        'nginx proxy_pass (keepalive)',
        viaNginx(ng.plainPort, '/1k'),
        [viaNginx(ng.plainPort, '/1k')],
        viaNginx(ng.plainPort, `/bytes/${BULK}`),
      );
      if (ng.luaPort)
        await measure(
          'nginx + Lua + Redis lookup',
          viaNginx(ng.luaPort, '/1k'),
          [viaNginx(ng.luaPort, '/1k')],
          viaNginx(ng.luaPort, `/bytes/${BULK}`),
        );
      await ng.stop();
    }

    const dockerHost = readServicesEnv()?.DOCKER_HOST;
    for (const k of (process.env.BENCH_K ?? '1,2,4').split(',').map(Number)) {
      const agent = stack.startRelay({
        token: host.token,
        sshListen: `127.0.0.1:${await freePort()}`,
        sshPorts: '53000-53999',
        stateDir: join(dir, 'agent'),
        logLevel: 'error',
        ...(dockerHost ? { docker: dockerHost } : {}),
        env: { REMOTEGPU_DATA_SHARDS: String(k) },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      agentPid = agent.pid;
      // Up when every shard answers; then past the isolate's 5 s route cache, so K is the new one.
      await until(
        `the agent with ${k} shards to serve every environment`,
        async () => {
          if (agent.exitCode !== null) throw new Error(`the agent with ${k} shards exited (${agent.exitCode})`);
          const up = await Promise.all(
            envs.map((e) =>
              appGet({ edgePort, envId: e, port: appPort, path: '/1k', headers: { cookie: cookies.get(e)! } }).then(
                (r) => r.status === 200,
                () => false,
              ),
            ),
          );
          return up.every(Boolean);
        },
        { timeout: 30_000, interval: 250 },
      );
      await new Promise((r) => setTimeout(r, 6000));
      const picked: string[] = [];
      for (let s = 0; s < k; s++) picked.push(...envs.filter((e) => shardOf(e, k) === s).slice(0, ENVS_32 / k));
      if (picked.length < ENVS_32) throw new Error(`not enough environments per shard for K=${k}`);
      await measure(
        `edge → tunnel → agent, K=${k}`,
        via(envs[0]!, '/1k'),
        picked.map((e) => via(e, '/1k')),
        via(envs[0]!, `/bytes/${BULK}`),
        true,
      );
      agent.kill('SIGTERM');
      await new Promise((r) => agent.once('exit', r));
    }

    const base = rows[0]!;
    console.log(
      '\n| path | 1 client: req/s | p50 ms | p99 ms | added p50 ms | 32 clients: req/s | p50 ms | p99 ms | CPU µs/req workerd / agent (32) | 100 MiB MB/s | errors |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(
        `| ${r.path} | ${f(r.one.rps)} | ${f(r.one.p50, 3)} | ${f(r.one.p99, 3)} | ${r === base ? '-' : f(r.one.p50 - base.one.p50, 3)} | ${f(r.many.rps)} | ${f(r.many.p50, 2)} | ${f(r.many.p99, 2)} | ${r.cpu} | ${f(r.bulk)} | ${r.one.errors + r.many.errors} |`,
      );
    }
    console.log(
      `\n1 KiB responses, keep-alive, ${SECONDS} s per cell after 1 s warm-up; 32 clients on the tunnel spread over ${ENVS_32} environments balanced over the K shards;` +
        ` bulk = median of 3. nginx: 1 worker process.${luaAvailable() ? '' : ' nginx Lua/Redis variant skipped: libnginx-mod-http-lua or lua-nginx-redis not installed.'}`,
    );
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await stack.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
