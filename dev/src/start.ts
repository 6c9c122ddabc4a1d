// `npm start`: the whole platform on one machine: stand-ins, the edge in workerd, a seeded admin, demo data, a relay agent.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { ensureWebBuilt } from './build-web.ts';
import { REPO_ROOT } from './edge-server.ts';
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
}

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
  return {
    port,
    sshPort,
    sshPorts,
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
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // The agent first (it says goodbye to the edge), then the edge and the stand-ins.
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
      vars: {
        REMOTEGPU_PUBLIC_URL: publicUrl,
        // A laptop is not a GPU server: let demo containers share its few cores.
        REMOTEGPU_CPU_OVERCOMMIT: process.env.REMOTEGPU_CPU_OVERCOMMIT ?? '8',
        // Optional operator-wide cap on an app's first response byte; unset = none (owners set per-port deadlines).
        ...(process.env.REMOTEGPU_APP_FIRST_BYTE_MS
          ? { REMOTEGPU_APP_FIRST_BYTE_MS: process.env.REMOTEGPU_APP_FIRST_BYTE_MS }
          : {}),
        // Data retention and the no-GPU share are operator settings: passed through when set.
        ...Object.fromEntries(
          [
            'REMOTEGPU_DATA_RETENTION_DAYS',
            'REMOTEGPU_NO_GPU_CPU_CORES',
            'REMOTEGPU_NO_GPU_MEMORY_GB',
            'REMOTEGPU_REGISTRY',
          ].flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])),
        ),
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

    console.log(
      [
        '',
        `RemoteGPU is running: ${stack.url}`,
        `  console + API    ${stack.url}/   (API docs: ${stack.url}/api/v1/docs)`,
        `  health           redis=${health.redis} database=${health.database}`,
        `  admin            ${adminEmail} / ${adminPass.created ? adminPass.value : process.env.REMOTEGPU_ADMIN_PASSWORD ? '(REMOTEGPU_ADMIN_PASSWORD)' : `(in ${join(cfg.stateDir, 'admin-password')})`}`,
        `  relay agent      ${cfg.agent && docker ? `running on ${docker}, SSH on 127.0.0.1:${cfg.sshPort} and ${cfg.sshPorts}` : cfg.agent ? `not started: no Docker engine (${servicesNote ?? 'services.sh up gave none'}; run as root, or set DOCKER_HOST)` : 'disabled (--no-agent)'}`,
        `  demo machines    ${cfg.agent && docker ? demoLine : '-'}`,
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
