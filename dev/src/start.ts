// `npm start`: the whole platform on one machine: stand-ins, the edge in workerd, a seeded admin, demo data, a relay agent
// (and with --hosts N, a fleet of N fake GPU hosts, each a relay in its own network namespace).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { ensureWebBuilt } from './build-web.ts';
import { REPO_ROOT } from './edge-server.ts';
import { parseFakeGpus, type FakeGpuGroup } from './fake-gpus.ts';
import { startFleet, type Fleet } from './fleet.ts';
import { physicalSshd } from './physical-keys.ts';
import { readServicesEnv, servicesDir } from './services-env.ts';
import { readyDemoMachines, seedDemo } from './seed-demo.ts';
import { startStack, type Stack } from './stack.ts';

interface StartConfig {
  port: number;
  host: string;
  stateDir: string;
  agent: boolean;
  /** The relay's shared SSH port and per-environment range (on 127.0.0.1). */
  sshPort: number;
  sshPorts: string;
  /** SSH names `<envid>.ssh.<sshDomain>` in the local Cloudflare DNS stand-in, answering on 127.0.0.1:<dnsPort>. */
  sshDomain: string | null;
  dnsPort: number;
  /** Fake GPU hosts in network namespaces (0 = none; root only). */
  hosts: number;
  /** Their GPUs, host after host (cycled), e.g. `4090:2;H100:8`. */
  hostGpus: FakeGpuGroup[][];
  /** The fleet's LAN is 10.231.<fleetNet>.0/24. */
  fleetNet: number;
}

/** Host i of a fleet gets the i-th entry (cycled): a mix of models, so that choosing by model shows. */
const DEFAULT_HOST_GPUS = 'RTX 4090:2;H100:8;L40S:4';

function readStartConfig(argv: string[], env: NodeJS.ProcessEnv): StartConfig {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const port = Number(flag('port') ?? env.REMOTEGPU_PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0-65535, got ${flag('port') ?? env.REMOTEGPU_PORT}`);
  const sshPort = Number(flag('ssh-port') ?? env.REMOTEGPU_SSH_PORT ?? 2222);
  if (!Number.isInteger(sshPort) || sshPort < 1 || sshPort > 65535)
    throw new Error(`--ssh-port must be 1-65535, got ${flag('ssh-port') ?? env.REMOTEGPU_SSH_PORT}`);
  const sshPorts = flag('ssh-ports') ?? env.REMOTEGPU_SSH_PORTS ?? '50000-59999';
  if (!/^\d{1,5}-\d{1,5}$/.test(sshPorts)) throw new Error(`--ssh-ports must look like 50000-59999, got ${sshPorts}`);
  const sshDomain = (flag('ssh-domain') ?? env.REMOTEGPU_SSH_DOMAIN ?? '').toLowerCase() || null;
  if (sshDomain !== null && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(sshDomain))
    throw new Error(`--ssh-domain must be a domain such as gpu.test, got ${sshDomain}`);
  const dnsPort = Number(flag('dns-port') ?? env.REMOTEGPU_DNS_PORT ?? 8053);
  if (!Number.isInteger(dnsPort) || dnsPort < 1 || dnsPort > 65535)
    throw new Error(`--dns-port must be 1-65535, got ${flag('dns-port') ?? env.REMOTEGPU_DNS_PORT}`);
  const hosts = Number(flag('hosts') ?? env.REMOTEGPU_HOSTS ?? 0);
  if (!Number.isInteger(hosts) || hosts < 0 || hosts > 50)
    throw new Error(`--hosts must be 0-50, got ${flag('hosts')}`);
  const fleetNet = Number(flag('fleet-net') ?? env.REMOTEGPU_FLEET_NET ?? 0);
  if (!Number.isInteger(fleetNet) || fleetNet < 0 || fleetNet > 255)
    throw new Error(`--fleet-net must be 0-255, got ${flag('fleet-net')}`);
  const hostGpus = (flag('host-gpus') ?? env.REMOTEGPU_HOST_GPUS ?? DEFAULT_HOST_GPUS).split(';').map(parseFakeGpus);
  return {
    sshDomain,
    dnsPort,
    port,
    sshPort,
    sshPorts,
    hosts,
    hostGpus,
    fleetNet,
    host: flag('host') ?? env.REMOTEGPU_HOST ?? '127.0.0.1',
    stateDir: resolve(flag('state-dir') ?? env.REMOTEGPU_STATE_DIR ?? join(REPO_ROOT, '.state')),
    agent: !argv.includes('--no-agent') && env.REMOTEGPU_NO_AGENT !== '1',
  };
}

async function persistent(file: string, make: () => string): Promise<{ value: string; created: boolean }> {
  if (existsSync(file)) return { value: (await readFile(file, 'utf8')).trim(), created: false };
  const value = make();
  await writeFile(file, `${value}\n`, { mode: 0o600 });
  return { value, created: true };
}

/**
 * As root, brings the local services up as the tests do (`scripts/services.sh up`: a private Docker engine, the demo
 * images, the loopback "physical" sshd; idempotent and quick when they are up). Returns why not, or null when up.
 */
function bringServicesUp(env: NodeJS.ProcessEnv): string | null {
  if (env.DOCKER_HOST) return 'DOCKER_HOST is set: using that engine';
  if (env.REMOTEGPU_NO_SERVICES === '1') return 'REMOTEGPU_NO_SERVICES=1';
  if (process.getuid?.() !== 0) return 'not root: cannot start a Docker engine';
  console.log('bringing up the local Docker engine, demo images and demo machine (bash scripts/services.sh up)...');
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/services.sh'), 'up'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
  });
  return r.status === 0 ? null : `scripts/services.sh up failed (exit ${r.status ?? r.signal})`;
}

/** The Docker engine to use: DOCKER_HOST, the services' private engine, or the system's socket. */
async function findDocker(env: NodeJS.ProcessEnv): Promise<string | null> {
  const candidates: string[] = [];
  if (env.DOCKER_HOST) candidates.push(env.DOCKER_HOST);
  const fromServices = readServicesEnv(servicesDir(env))?.DOCKER_HOST;
  if (fromServices) candidates.push(fromServices);
  candidates.push('unix:///var/run/docker.sock');
  for (const c of candidates) {
    if (!c.startsWith('unix://')) return c;
    const ok = await new Promise<boolean>((done) => {
      const req = request({ socketPath: c.slice(7), path: '/_ping', timeout: 1000 }, (res) => {
        res.resume();
        done(res.statusCode === 200);
      });
      req.on('error', () => done(false));
      req.on('timeout', () => {
        req.destroy();
        done(false);
      });
      req.end();
    });
    if (ok) return c;
  }
  return null;
}

async function main(): Promise<void> {
  const cfg = readStartConfig(process.argv.slice(2), process.env);
  await mkdir(cfg.stateDir, { recursive: true, mode: 0o700 });
  let stack: Stack | null = null;
  let fleet: Fleet | null = null;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // The agents first (they say goodbye to the edge; the fleet's namespaces go), then the edge and the stand-ins.
    await fleet?.close();
    await stack?.close();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    // REMOTEGPU_SKIP_WEB_BUILD=1: API and SSH only (the tests that run this command do not need the console).
    if (process.env.REMOTEGPU_SKIP_WEB_BUILD !== '1' && ensureWebBuilt())
      console.log('built the console into web/dist');
    // First, as root: on a fresh machine this also installs redis-server, which the stand-ins below need.
    const servicesNote = cfg.agent ? bringServicesUp(process.env) : 'disabled';
    const secret = await persistent(join(cfg.stateDir, 'secret.key'), () => randomBytes(32).toString('hex'));
    const adminEmail = process.env.REMOTEGPU_ADMIN_EMAIL ?? 'admin@remotegpu.local';
    const adminPass = process.env.REMOTEGPU_ADMIN_PASSWORD
      ? { value: process.env.REMOTEGPU_ADMIN_PASSWORD, created: false }
      : await persistent(join(cfg.stateDir, 'admin-password'), () => randomBytes(12).toString('base64url'));
    const publicUrl = `http://${cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host}:${cfg.port}`;
    stack = await startStack({
      dir: cfg.stateDir,
      persist: true,
      host: cfg.host,
      port: cfg.port,
      admin: { email: adminEmail, password: adminPass.value },
      secretKey: secret.value,
      // The stand-in keeps records in memory: the first cron run (at start) puts every environment's back.
      ...(cfg.sshDomain ? { sshDomain: cfg.sshDomain, dnsPort: cfg.dnsPort, cronEveryMs: 5 * 60_000 } : {}),
      vars: {
        REMOTEGPU_PUBLIC_URL: publicUrl,
        // A laptop is not a GPU server: let demo containers share its few cores.
        REMOTEGPU_CPU_OVERCOMMIT: process.env.REMOTEGPU_CPU_OVERCOMMIT ?? '8',
        // Optional operator-wide cap on an app's first response byte; unset = none (owners set per-port deadlines).
        ...(process.env.REMOTEGPU_APP_FIRST_BYTE_MS
          ? { REMOTEGPU_APP_FIRST_BYTE_MS: process.env.REMOTEGPU_APP_FIRST_BYTE_MS }
          : {}),
      },
    });
    const health = (await stack.api<{ redis: string; database: string }>('/healthz')).body;
    const docker = await findDocker(process.env);
    const physical = physicalSshd(servicesDir(process.env));
    const demo = await seedDemo(stack.url, adminEmail, adminPass.value, physical ?? undefined);

    let demoLine = 'no loopback sshd (run as root, or: bash scripts/services.sh up)';
    if (cfg.agent && docker) {
      const agent = stack.startRelay({
        token: demo.hostToken,
        sshListen: `127.0.0.1:${cfg.sshPort}`,
        sshPorts: cfg.sshPorts,
        stateDir: join(cfg.stateDir, 'relay'),
        docker,
      });
      agent.on('exit', (code) => {
        if (!stopping) console.error(`relay agent exited (${code}); the edge keeps running`);
      });
      if (physical) {
        demoLine = await readyDemoMachines(stack.url, adminEmail, adminPass.value, demo.hostId, physical)
          .then((r) => `${r.pinned} on ${physical.host}:${physical.port}: relay key authorized, host key pinned`)
          .catch((err: Error) => `not ready: ${err.message}`);
      }
    }

    let fleetLines: string[] = [];
    if (cfg.hosts > 0 && docker) {
      fleet = await startFleet(stack, {
        netId: cfg.fleetNet,
        hosts: Array.from({ length: cfg.hosts }, (_, i) => cfg.hostGpus[i % cfg.hostGpus.length]!),
        portBase: 50000,
        portsPerHost: 1000,
        stateDir: join(cfg.stateDir, 'fleet'),
        docker,
      });
      await fleet.ready();
      fleetLines = [
        `  GPU hosts        ${cfg.hosts} fake GPU hosts (test inventories), each a relay in its own network namespace:`,
        ...fleet.relays.map(
          (r) =>
            `    ${r.name.padEnd(12)} ${r.address.padEnd(13)} netns ${r.netns.padEnd(9)} SSH ${r.address}:${r.sharedPort} and ${r.sshPorts}  GPUs ${r.gpus.map((g) => `${g.model} x${g.count}`).join(', ')}`,
        ),
      ];
    } else if (cfg.hosts > 0) {
      fleetLines = ['  GPU hosts        not started: no Docker engine (run as root)'];
    }

    console.log(
      [
        '',
        `RemoteGPU is running: ${stack.url}`,
        `  console + API    ${stack.url}/   (API docs: ${stack.url}/api/v1/docs)`,
        `  health           redis=${health.redis} database=${health.database}`,
        `  admin            ${adminEmail} / ${adminPass.created ? adminPass.value : process.env.REMOTEGPU_ADMIN_PASSWORD ? '(REMOTEGPU_ADMIN_PASSWORD)' : `(in ${join(cfg.stateDir, 'admin-password')})`}`,
        `  relay agent      ${cfg.agent && docker ? `running on ${docker}, SSH on 127.0.0.1:${cfg.sshPort} and ${cfg.sshPorts}` : cfg.agent ? `not started: no Docker engine (${servicesNote ?? 'services.sh up gave none'}; run as root, or set DOCKER_HOST)` : 'disabled (--no-agent)'}`,
        `  demo machines    ${cfg.agent && docker ? demoLine : '-'}`,
        `  SSH names        ${stack.dns ? `<envid>.ssh.${stack.dns.zoneName} in the Cloudflare DNS stand-in (${stack.dns.apiBase}); resolve: dig @${stack.dns.dnsHost} -p ${stack.dns.dnsPort} +short <envid>.ssh.${stack.dns.zoneName}` : "the relay's address (--ssh-domain gpu.test for DNS names)"}`,
        ...fleetLines,
        `  state            ${cfg.stateDir}`,
        'Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    console.error(`npm start failed: ${(err as Error).message}`);
    await stop(1);
  }
}

void main();
