// Test harness: the gateway on loopback with in-memory seams, Docker targets, and helpers to drive the real OpenSSH client.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import type { Route } from '@remotegpu/schema';
import { startSshGateway } from '../../src/ssh/gateway.ts';
import type { SshGateway } from '../../src/ssh/gateway.ts';
import type { GatewayLimits } from '../../src/ssh/limits.ts';
import { readServicesEnv } from '../../../dev/src/services-env.ts';
import { envId, hashPassword, MemoryAudit, MemoryRecordings, MemoryRoutes, testLogger } from './fakes.ts';
import { generateUsableKeyPair } from '../../src/ssh/keys.ts';

export interface Services {
  DOCKER_HOST: string;
  REMOTEGPU_TEST_SSHD_IMAGE: string;
  REMOTEGPU_TEST_BUSYBOX_IMAGE: string;
  REMOTEGPU_TEST_STOCK_IMAGE: string;
  REMOTEGPU_TEST_KNOWN_HOSTS: string;
  REMOTEGPU_PHYSICAL_HOST: string;
  REMOTEGPU_PHYSICAL_PORT: string;
  REMOTEGPU_PHYSICAL_KEY: string;
  REMOTEGPU_PHYSICAL_KNOWN_HOSTS: string;
}

const SERVICE_KEYS: (keyof Services)[] = [
  'DOCKER_HOST',
  'REMOTEGPU_TEST_SSHD_IMAGE',
  'REMOTEGPU_TEST_BUSYBOX_IMAGE',
  'REMOTEGPU_TEST_STOCK_IMAGE',
  'REMOTEGPU_TEST_KNOWN_HOSTS',
  'REMOTEGPU_PHYSICAL_HOST',
  'REMOTEGPU_PHYSICAL_PORT',
  'REMOTEGPU_PHYSICAL_KEY',
  'REMOTEGPU_PHYSICAL_KNOWN_HOSTS',
];

/** What `scripts/services.sh up` wrote (through the one reader, dev/src/services-env.ts); throws naming what is missing. */
function loadServices(): Services {
  const env = readServicesEnv();
  const missing = SERVICE_KEYS.filter((k) => !env?.[k]);
  if (!env || missing.length)
    throw new Error(`the test services lack ${missing.join(', ')}: run \`bash scripts/services.sh up\``);
  return Object.fromEntries(SERVICE_KEYS.map((k) => [k, env[k]!])) as unknown as Services;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  o: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.input ?? '');
  });
}

export class Harness {
  readonly routes = new MemoryRoutes();
  readonly audit = new MemoryAudit();
  readonly recordings = new MemoryRecordings();
  readonly services = loadServices();
  readonly docker = new Dockerode({ socketPath: this.services.DOCKER_HOST.replace(/^unix:\/\//, '') });
  readonly dir = mkdtempSync(join(tmpdir(), 'ssh-gw-test-'));
  readonly ownerKey = join(this.dir, 'owner');
  readonly strangerKey = join(this.dir, 'stranger');
  readonly knownHosts = join(this.dir, 'known_hosts');
  readonly platformKey = readFileSync(this.services.REMOTEGPU_PHYSICAL_KEY, 'utf8');
  readonly platformPublic = readFileSync(`${this.services.REMOTEGPU_PHYSICAL_KEY}.pub`, 'utf8').trim();
  // Environment ports come from below Linux's ephemeral range (32768-60999): an outgoing connection of any other test
  // could hold a port in that range just as the gateway binds it (seen in CI: `connection refused`).
  readonly portBase = 20_000 + Math.floor(Math.random() * 120) * 100;
  gateway!: SshGateway;
  sharedPort = 0;
  private readonly containers: string[] = [];
  /** Route ports added but not yet connected to by ssh(). */
  private readonly unopened = new Set<number>();
  private nextPort = this.portBase;

  /** `workers`: the gateway's SSH worker processes (default REMOTEGPU_SSH_WORKERS, else 1). */
  async start(limits: Partial<GatewayLimits> = {}, o: { workers?: number } = {}): Promise<void> {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', this.ownerKey]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', this.strangerKey]);
    const ed = generateUsableKeyPair('ed25519');
    const rsa = generateUsableKeyPair('rsa', { bits: 2048 });
    writeFileSync(this.knownHosts, `* ${ed.public.trim()}\n`);
    this.gateway = await startSshGateway({
      listen: { host: '127.0.0.1', port: 0 },
      portRange: [this.portBase, this.portBase + 99],
      routes: this.routes,
      audit: this.audit,
      recordings: this.recordings,
      docker: this.docker,
      log: testLogger(),
      keys: {
        hostKeys: [ed.private, rsa.private],
        platformPrivateKey: this.platformKey,
        platformPublicKey: this.platformPublic,
      },
      limits,
      // One process unless a run asks for workers (REMOTEGPU_SSH_WORKERS=2): keeps CI's CPU for the tests themselves.
      workers: o.workers ?? Number(process.env.REMOTEGPU_SSH_WORKERS ?? 1),
      dockerUrl: this.services.DOCKER_HOST,
    });
    this.sharedPort = this.gateway.listeningPorts()[0]!;
  }

  async stop(): Promise<void> {
    await this.gateway?.close();
    await Promise.all(
      this.containers.map((id) =>
        this.docker
          .getContainer(id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
  }

  /** Runs a container of `image`; resolves with its id and bridge IP once `readyPort` (if any) accepts. */
  async container(
    image: string,
    o: { cmd?: string[]; env?: string[]; readyPort?: number } = {},
  ): Promise<{ id: string; ip: string }> {
    const c = await this.docker.createContainer({
      Image: image,
      Cmd: o.cmd,
      Env: o.env,
      Labels: { 'remotegpu.test': 'ssh-gateway' },
      HostConfig: { Init: true, AutoRemove: false },
    });
    this.containers.push(c.id);
    await c.start();
    const info = await c.inspect();
    const ip = Object.values(info.NetworkSettings.Networks)[0]!.IPAddress;
    if (o.readyPort) await waitForPort(ip, o.readyPort);
    return { id: c.id, ip };
  }

  /** Adds an environment route; the password is returned alongside. */
  addRoute(p: Partial<Route> & Pick<Route, 'target' | 'type'>): { route: Route; password: string } {
    const password = `pw-${envId()}${envId()}`;
    const route: Route = {
      environment_id: envId(),
      user_id: 'u1',
      ssh_port: this.nextPort++,
      ssh_username: 'root',
      target_ip: '',
      password_hash: hashPassword(password),
      owner_keys: [readFileSync(`${this.ownerKey}.pub`, 'utf8').trim()],
      recording: false,
      running: true,
      ...p,
    };
    this.routes.upsert(route);
    this.unopened.add(route.ssh_port);
    return { route, password };
  }

  /** Common OpenSSH client options: our known_hosts (the relay's host key pinned), no config file. */
  sshOpts(o: { key?: string | null; port: number }): string[] {
    const base = [
      '-F',
      '/dev/null',
      '-o',
      `UserKnownHostsFile=${this.knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'ConnectTimeout=10',
    ];
    const auth =
      o.key === null
        ? [
            '-o',
            'PubkeyAuthentication=no',
            '-o',
            'PreferredAuthentications=password,keyboard-interactive',
            '-o',
            'NumberOfPasswordPrompts=1',
          ]
        : [
            '-o',
            'BatchMode=yes',
            '-o',
            'IdentitiesOnly=yes',
            '-o',
            'PasswordAuthentication=no',
            '-i',
            o.key ?? this.ownerKey,
          ];
    return [...base, ...auth, '-p', String(o.port)];
  }

  /** `ssh` through the relay with the owner's key (or a password via sshpass). */
  async ssh(
    port: number,
    user: string,
    args: string[],
    o: {
      password?: string;
      key?: string;
      from?: string;
      kbd?: boolean;
      input?: string | Buffer;
      timeoutMs?: number;
    } = {},
  ): Promise<Run> {
    // The gateway opens an environment's port when its route arrives, asynchronously: wait for it once.
    if (this.unopened.delete(port)) await waitForPort('127.0.0.1', port).catch(() => undefined);
    const pre = [
      ...(o.from ? ['-b', o.from] : []),
      ...(o.kbd ? ['-o', 'PreferredAuthentications=keyboard-interactive'] : []),
    ];
    const sshArgs = [
      ...pre,
      ...this.sshOpts({ port, key: o.password !== undefined ? null : o.key }),
      `${user}@127.0.0.1`,
      ...args,
    ];
    if (o.password !== undefined) return run('sshpass', ['-p', o.password, 'ssh', ...sshArgs], o);
    return run('ssh', sshArgs, o);
  }
}

export function waitForPort(host: string, port: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > end) reject(new Error(`${host}:${port} not reachable`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}
