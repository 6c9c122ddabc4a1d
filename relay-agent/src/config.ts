// The agent's configuration: defaults, flags, REMOTEGPU_* env twins and a JSON file, parsed by one pure function.
import type { LogLevel } from './contracts.ts';

export interface AgentConfig {
  edge: string;
  token: string;
  sshListen: { host: string; port: number };
  sshPorts: [number, number];
  publicHost: string | null;
  docker: string;
  stateDir: string;
  logLevel: LogLevel;
  dataShards: number;
  /**
   * Test only: report the NVIDIA runtime as present although the engine has none, so that a fake `nvidia-smi`
   * on the PATH and an engine with a stand-in nvidia hook (scripts/services.sh) can run GPU containers.
   */
  fakeGpus: boolean;
  /** SSH worker processes; null: one per core (os.availableParallelism()). 1 serves SSH in the agent process. */
  sshWorkers: number | null;
  /** 'require': refuse to start without ssh2's native crypto binding; 'prefer': warn and use the JavaScript ciphers. */
  sshNativeCrypto: 'require' | 'prefer';
  /** Seconds between metric samples of every environment (1-3600). */
  metricsInterval: number;
}

/** Values used when neither a flag, its env twin nor the config file sets them. */
export const DEFAULTS = {
  sshListen: '0.0.0.0:2222',
  sshPorts: '50000-59999',
  docker: 'unix:///var/run/docker.sock',
  stateDir: '~/.remotegpu-relay',
  logLevel: 'info',
  dataShards: '1',
  fakeGpus: 'false',
  sshWorkers: 'auto',
  sshNativeCrypto: 'require',
  metricsInterval: '10',
} as const;

interface Option {
  flag: string;
  key: keyof AgentConfig;
  env: string;
  help: string;
}

export const OPTIONS: readonly Option[] = [
  { flag: 'edge', key: 'edge', env: 'REMOTEGPU_EDGE', help: 'edge URL, e.g. https://gpu.example.com (required)' },
  {
    flag: 'token',
    key: 'token',
    env: 'REMOTEGPU_TOKEN',
    help: 'host token from the admin console (required; prefer the env twin)',
  },
  {
    flag: 'ssh-listen',
    key: 'sshListen',
    env: 'REMOTEGPU_SSH_LISTEN',
    help: `shared SSH port, host:port (default ${DEFAULTS.sshListen})`,
  },
  {
    flag: 'ssh-ports',
    key: 'sshPorts',
    env: 'REMOTEGPU_SSH_PORTS',
    help: `per-environment SSH ports, low-high (default ${DEFAULTS.sshPorts})`,
  },
  { flag: 'public-host', key: 'publicHost', env: 'REMOTEGPU_PUBLIC_HOST', help: 'name or address renters ssh to' },
  {
    flag: 'docker',
    key: 'docker',
    env: 'REMOTEGPU_DOCKER',
    help: 'Docker engine: unix:///path or tcp://host:port (default $DOCKER_HOST or the local socket)',
  },
  {
    flag: 'state-dir',
    key: 'stateDir',
    env: 'REMOTEGPU_STATE_DIR',
    help: `local state directory (default ${DEFAULTS.stateDir})`,
  },
  {
    flag: 'log-level',
    key: 'logLevel',
    env: 'REMOTEGPU_LOG_LEVEL',
    help: `debug|info|warn|error (default ${DEFAULTS.logLevel})`,
  },
  {
    flag: 'data-shards',
    key: 'dataShards',
    env: 'REMOTEGPU_DATA_SHARDS',
    help: `data connections for app traffic, 1-63 (default ${DEFAULTS.dataShards})`,
  },
  {
    flag: 'fake-gpus',
    key: 'fakeGpus',
    env: 'REMOTEGPU_FAKE_GPUS',
    help: 'TEST ONLY, true|false: trust the GPUs nvidia-smi lists without an NVIDIA runtime in Docker (fake GPU fleets)',
  },
  {
    flag: 'ssh-workers',
    key: 'sshWorkers',
    env: 'REMOTEGPU_SSH_WORKERS',
    help: `SSH worker processes, 1-256 or auto = one per core (default ${DEFAULTS.sshWorkers})`,
  },
  {
    flag: 'ssh-native-crypto',
    key: 'sshNativeCrypto',
    env: 'REMOTEGPU_SSH_NATIVE_CRYPTO',
    help: `require|prefer ssh2's native crypto binding (default ${DEFAULTS.sshNativeCrypto})`,
  },
  {
    flag: 'metrics-interval',
    key: 'metricsInterval',
    env: 'REMOTEGPU_METRICS_INTERVAL',
    help: `seconds between metric samples, 1-3600 (default ${DEFAULTS.metricsInterval})`,
  },
];
const CONFIG_FLAG = { flag: 'config', env: 'REMOTEGPU_CONFIG' };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type ParseOutcome = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: AgentConfig };

export interface ParseInput {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  /** Reads the --config file; injected so that parsing stays pure. */
  readFile: (path: string) => string;
}

export function helpText(version: string): string {
  const rows = OPTIONS.map((o) => `  --${o.flag.padEnd(12)} ${o.help}\n  ${''.padEnd(14)} env ${o.env}`);
  return [
    `relay-agent ${version}: dials the RemoteGPU edge, serves SSH and drives Docker on this host`,
    '',
    'usage: relay-agent --edge <url> --token <host token> [options]',
    '',
    ...rows,
    `  --config       JSON file with any of the options above (keys as the flag names)\n  ${''.padEnd(14)} env ${CONFIG_FLAG.env}`,
    '  --help         this text',
    '  --version      the agent version',
    '',
    'Precedence: flags, then environment, then the config file, then defaults.',
    '',
  ].join('\n');
}

/** Flags as a name → value map; --help/--version short-circuit. */
function readFlags(argv: readonly string[]): { flags: Map<string, string>; special?: 'help' | 'version' } {
  const flags = new Map<string, string>();
  // Help and version win wherever they stand, even next to a mistake.
  if (argv.some((a) => a === '--help' || a === '-h')) return { flags, special: 'help' };
  if (argv.some((a) => a === '--version' || a === '-v')) return { flags, special: 'version' };
  const known = new Set([...OPTIONS.map((o) => o.flag), CONFIG_FLAG.flag]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!known.has(name)) throw new ConfigError(`unknown option --${name} (see --help)`);
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new ConfigError(`--${name} needs a value`);
      i++;
    }
    flags.set(name, value);
  }
  return { flags };
}

function readConfigFile(path: string, readFile: ParseInput['readFile']): Map<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFile(path));
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    const opt = OPTIONS.find((o) => o.flag === k || o.key === k);
    if (!opt) throw new ConfigError(`config file ${path}: unknown key "${k}"`);
    if (typeof v !== 'string' && typeof v !== 'number')
      throw new ConfigError(`config file ${path}: "${k}" must be a string or a number`);
    out.set(opt.flag, String(v));
  }
  return out;
}

export function parseConfig(input: ParseInput): ParseOutcome {
  const { flags, special } = readFlags(input.argv);
  if (special) return { kind: special };
  const env = (name: string) => {
    const v = input.env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const configPath = flags.get(CONFIG_FLAG.flag) ?? env(CONFIG_FLAG.env);
  const file = configPath ? readConfigFile(configPath, input.readFile) : new Map<string, string>();
  const pick = (flag: string): string | undefined => {
    const opt = OPTIONS.find((o) => o.flag === flag)!;
    return flags.get(flag) ?? env(opt.env) ?? file.get(flag);
  };
  return { kind: 'run', config: validate(pick, input) };
}

function validate(pick: (flag: string) => string | undefined, input: ParseInput): AgentConfig {
  const edge = pick('edge');
  if (!edge) throw new ConfigError('--edge is required (or REMOTEGPU_EDGE), e.g. --edge https://gpu.example.com');
  let url: URL;
  try {
    url = new URL(edge);
  } catch {
    throw new ConfigError(`--edge "${edge}" is not a URL`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol))
    throw new ConfigError(`--edge must be an http(s) or ws(s) URL, got ${url.protocol}`);
  const token = pick('token');
  if (!token)
    throw new ConfigError('--token is required (or REMOTEGPU_TOKEN): the host token shown when the host was created');
  if (/\s/.test(token)) throw new ConfigError('--token must not contain spaces');
  const logLevel = pick('log-level') ?? DEFAULTS.logLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
    throw new ConfigError(`--log-level must be debug, info, warn or error, got "${logLevel}"`);
  const shards = pick('data-shards') ?? DEFAULTS.dataShards;
  if (!/^\d+$/.test(shards) || Number(shards) < 1 || Number(shards) > 63)
    throw new ConfigError(`--data-shards must be an integer from 1 to 63, got "${shards}"`);
  const workers = pick('ssh-workers') ?? DEFAULTS.sshWorkers;
  if (workers !== 'auto' && (!/^\d+$/.test(workers) || Number(workers) < 1 || Number(workers) > 256))
    throw new ConfigError(`--ssh-workers must be auto or an integer from 1 to 256, got "${workers}"`);
  const nativeCrypto = pick('ssh-native-crypto') ?? DEFAULTS.sshNativeCrypto;
  if (nativeCrypto !== 'require' && nativeCrypto !== 'prefer')
    throw new ConfigError(`--ssh-native-crypto must be require or prefer, got "${nativeCrypto}"`);
  const metricsInterval = pick('metrics-interval') ?? DEFAULTS.metricsInterval;
  if (!/^\d+$/.test(metricsInterval) || Number(metricsInterval) < 1 || Number(metricsInterval) > 3600)
    throw new ConfigError(`--metrics-interval must be an integer from 1 to 3600 (seconds), got "${metricsInterval}"`);
  const publicHost = pick('public-host') ?? null;
  if (publicHost !== null && !/^[A-Za-z0-9.:-]{1,253}$/.test(publicHost))
    throw new ConfigError(`--public-host "${publicHost}" is not a host name or address`);
  const stateDir = pick('state-dir') ?? DEFAULTS.stateDir;
  const fakeGpus = (pick('fake-gpus') ?? DEFAULTS.fakeGpus).toLowerCase();
  if (!['true', 'false', '1', '0', 'yes', 'no'].includes(fakeGpus))
    throw new ConfigError(`--fake-gpus must be true or false, got "${fakeGpus}"`);
  return {
    edge: edge.replace(/\/+$/, ''),
    token,
    sshListen: parseListen(pick('ssh-listen') ?? DEFAULTS.sshListen),
    sshPorts: parsePortRange(pick('ssh-ports') ?? DEFAULTS.sshPorts),
    publicHost,
    docker: parseDocker(pick('docker') ?? input.env['DOCKER_HOST'] ?? DEFAULTS.docker),
    stateDir: stateDir === '~' || stateDir.startsWith('~/') ? input.home + stateDir.slice(1) : stateDir,
    logLevel: logLevel as LogLevel,
    dataShards: Number(shards),
    fakeGpus: ['true', '1', 'yes'].includes(fakeGpus),
    sshWorkers: workers === 'auto' ? null : Number(workers),
    sshNativeCrypto: nativeCrypto,
    metricsInterval: Number(metricsInterval),
  };
}

function parsePort(s: string, what: string, min = 1): number {
  if (!/^\d{1,5}$/.test(s) || Number(s) < min || Number(s) > 65535)
    throw new ConfigError(`${what}: "${s}" is not a port (${min}-65535)`);
  return Number(s);
}

function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$/.exec(s);
  if (!m) throw new ConfigError(`--ssh-listen must be host:port (or [v6]:port), got "${s}"`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  // 0 picks a free port (tests).
  return { host, port: parsePort(m[3]!, '--ssh-listen', 0) };
}

function parsePortRange(s: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(s);
  if (!m) throw new ConfigError(`--ssh-ports must be low-high, e.g. 50000-59999, got "${s}"`);
  const lo = parsePort(m[1]!, '--ssh-ports');
  const hi = parsePort(m[2]!, '--ssh-ports');
  if (lo > hi) throw new ConfigError(`--ssh-ports: ${lo} is above ${hi}`);
  return [lo, hi];
}

function parseDocker(s: string): string {
  if (s.startsWith('/')) return `unix://${s}`;
  if (/^unix:\/\/\/.+/.test(s) || /^tcp:\/\/[^/]+:\d+\/?$/.test(s)) return s;
  throw new ConfigError(`--docker must be unix:///path/to/docker.sock or tcp://host:port, got "${s}"`);
}

/** The WebSocket URL of the control connection. */
export function connectUrl(edge: string): string {
  const url = new URL(edge);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/agent/connect`;
  return url.toString();
}
