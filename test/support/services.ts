// Test services started by `bash scripts/services.sh up`: a private dockerd, the sshd/busybox/stock images and a
// loopback "physical machine" sshd. Integration tests FAIL (never skip) when they are not up.
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { readServicesEnv, servicesDir } from '../../dev/src/services-env.ts';

const SERVICES_HINT = 'test services are not up: run `bash scripts/services.sh up`';

export interface Services {
  dir: string;
  /** `unix://...` socket of the private dockerd. */
  dockerHost: string;
  sshdImage: string;
  busyboxImage: string;
  /** A glibc userland like ML images (bash, python3, coreutils, git, tmux) without OpenSSH or rsync. */
  stockImage: string;
  /** Client private key authorized for root in every container of `sshdImage`. */
  testKey: string;
  testPublicKey: string;
  /** known_hosts pinning the host key baked into `sshdImage`, for any address. */
  testKnownHosts: string;
  physical: { host: string; port: number; user: string; key: string; knownHosts: string };
}

export interface SshTarget {
  host: string;
  port?: number;
  user?: string;
  /** Private key file (IdentitiesOnly). */
  key: string;
  /** Pin host keys with this file (StrictHostKeyChecking=yes); without it, any host key is accepted. */
  knownHosts?: string;
}

export interface SshOptions {
  /** Extra `-o Name=value` options, e.g. `{ ServerAliveInterval: '5' }`. */
  options?: Record<string, string>;
  /** Extra raw arguments placed before the destination (e.g. `['-T']`, `['-L', '8080:localhost:80']`). */
  extraArgs?: string[];
}

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

export { servicesDir };

let cached: Services | undefined;

/** Reads `$REMOTEGPU_SERVICES_DIR/env.json` and checks dockerd answers; throws if the services are not up. */
export function loadServices(): Services {
  if (cached) return cached;
  const file = join(servicesDir(), 'env.json');
  const env = readServicesEnv();
  if (!env) throw new Error(`${SERVICES_HINT} (${file} is missing)`);
  const get = (name: string): string => {
    const value = env[name];
    if (typeof value !== 'string' || value === '') throw new Error(`${SERVICES_HINT} (${file} has no ${name})`);
    return value;
  };
  const services: Services = {
    dir: get('REMOTEGPU_SERVICES_DIR'),
    dockerHost: get('DOCKER_HOST'),
    sshdImage: get('REMOTEGPU_TEST_SSHD_IMAGE'),
    busyboxImage: get('REMOTEGPU_TEST_BUSYBOX_IMAGE'),
    stockImage: get('REMOTEGPU_TEST_STOCK_IMAGE'),
    testKey: get('REMOTEGPU_TEST_KEY'),
    testPublicKey: get('REMOTEGPU_TEST_PUBLIC_KEY'),
    testKnownHosts: get('REMOTEGPU_TEST_KNOWN_HOSTS'),
    physical: {
      host: get('REMOTEGPU_PHYSICAL_HOST'),
      port: Number(get('REMOTEGPU_PHYSICAL_PORT')),
      user: get('REMOTEGPU_PHYSICAL_USER'),
      key: get('REMOTEGPU_PHYSICAL_KEY'),
      knownHosts: get('REMOTEGPU_PHYSICAL_KNOWN_HOSTS'),
    },
  };
  try {
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {
      env: { ...process.env, DOCKER_HOST: services.dockerHost },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`${SERVICES_HINT} (docker at ${services.dockerHost} does not answer: ${reason})`);
  }
  cached = services;
  return services;
}

/** The physical machine as an ssh target, host key pinned. */
export function physicalTarget(services: Services = loadServices()): SshTarget {
  const { host, port, user, key, knownHosts } = services.physical;
  return { host, port, user, key, knownHosts };
}

/** A container of the sshd image as an ssh target, host key pinned. */
export function containerTarget(ip: string, services: Services = loadServices()): SshTarget {
  return { host: ip, port: 22, user: 'root', key: services.testKey, knownHosts: services.testKnownHosts };
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const code = (err as { code?: unknown }).code;
      // A numeric code is the process's exit status; anything else (ENOENT, killed by timeout) is a failure to run.
      if (typeof code === 'number' && !err.killed) return resolve({ code, stdout, stderr });
      reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
    });
  });
}

/** Runs the docker CLI against the private dockerd and returns stdout; rejects on a non-zero exit. */
export async function docker(args: string[], timeoutMs = 60_000): Promise<string> {
  const { dockerHost } = loadServices();
  const res = await run('docker', args, { ...process.env, DOCKER_HOST: dockerHost }, timeoutMs);
  if (res.code !== 0) throw new Error(`docker ${args.join(' ')} exited with ${res.code}: ${res.stderr.trim()}`);
  return res.stdout;
}

/** The IP address of a container on a network (the first one when `network` is omitted). */
export async function containerIp(container: string, network?: string): Promise<string> {
  const inspect = JSON.parse(
    await docker(['inspect', '--format', '{{json .NetworkSettings.Networks}}', container]),
  ) as Record<string, { IPAddress?: string }>;
  const entry = network ? inspect[network] : Object.values(inspect)[0];
  const ip = entry?.IPAddress;
  if (!ip) throw new Error(`container ${container} has no IP address${network ? ` on ${network}` : ''}`);
  return ip;
}

/** Arguments for OpenSSH's `ssh` (without the program name): hardened, non-interactive, key only. */
function sshArgs(target: SshTarget, command?: string, opts: SshOptions = {}): string[] {
  const o: Record<string, string> = {
    StrictHostKeyChecking: target.knownHosts ? 'yes' : 'no',
    UserKnownHostsFile: target.knownHosts ?? '/dev/null',
    GlobalKnownHostsFile: '/dev/null',
    BatchMode: 'yes',
    IdentitiesOnly: 'yes',
    PasswordAuthentication: 'no',
    KbdInteractiveAuthentication: 'no',
    ConnectTimeout: '5',
    LogLevel: 'ERROR',
    ...opts.options,
  };
  const args = ['-F', '/dev/null', '-i', target.key, '-p', String(target.port ?? 22), '-l', target.user ?? 'root'];
  for (const [name, value] of Object.entries(o)) args.push('-o', `${name}=${value}`);
  args.push(...(opts.extraArgs ?? []), target.host);
  if (command !== undefined) args.push('--', command);
  return args;
}

/** Runs `ssh` with `sshArgs(...)`; resolves with the exit code (255 = ssh's own failure), never rejects on non-zero. */
export function runSsh(
  target: SshTarget,
  command: string,
  opts: SshOptions & { timeoutMs?: number } = {},
): Promise<SshResult> {
  return run('ssh', sshArgs(target, command, opts), process.env, opts.timeoutMs ?? 30_000);
}
