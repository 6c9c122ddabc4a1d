import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, OPTIONS, connectUrl, parseConfig } from './config.ts';
import type { ParseInput } from './config.ts';

const base = (over: Partial<ParseInput> = {}): ParseInput => ({
  argv: ['--edge', 'https://gpu.example.com/', '--token', 'rgh_abc'],
  env: {},
  home: '/home/op',
  readFile: () => {
    throw new Error('no file');
  },
  ...over,
});

function run(over: Partial<ParseInput> = {}) {
  const r = parseConfig(base(over));
  if (r.kind !== 'run') throw new Error(`expected run, got ${r.kind}`);
  return r.config;
}

describe('config', () => {
  it('applies the defaults', () => {
    expect(run()).toEqual({
      edge: 'https://gpu.example.com',
      token: 'rgh_abc',
      sshListen: { host: '0.0.0.0', port: 2222 },
      sshPorts: [50000, 59999],
      publicHost: null,
      docker: DEFAULTS.docker,
      stateDir: '/home/op/.remotegpu-relay',
      logLevel: 'info',
      dataShards: 1,
      fakeGpus: false,
      sshWorkers: null,
      sshNativeCrypto: 'require',
      metricsInterval: 10,
    });
  });

  it('--fake-gpus (test only) is a boolean', () => {
    expect(run({ env: { REMOTEGPU_FAKE_GPUS: 'true' } }).fakeGpus).toBe(true);
    expect(run({ argv: [...base().argv, '--fake-gpus', '0'] }).fakeGpus).toBe(false);
    expect(() => run({ argv: [...base().argv, '--fake-gpus', 'maybe'] })).toThrow(/--fake-gpus must be true or false/);
  });

  it('--ssh-workers takes a count or auto (one per core: null), with its env twin', () => {
    expect(run({ argv: [...base().argv, '--ssh-workers', '3'] }).sshWorkers).toBe(3);
    expect(run({ env: { REMOTEGPU_SSH_WORKERS: '1' } }).sshWorkers).toBe(1);
    expect(run({ argv: [...base().argv, '--ssh-workers', 'auto'] }).sshWorkers).toBeNull();
    expect(run({ env: { REMOTEGPU_SSH_NATIVE_CRYPTO: 'prefer' } }).sshNativeCrypto).toBe('prefer');
  });

  it('--metrics-interval takes whole seconds from 1 to 3600, with its env twin', () => {
    expect(run({ argv: [...base().argv, '--metrics-interval', '2'] }).metricsInterval).toBe(2);
    expect(run({ env: { REMOTEGPU_METRICS_INTERVAL: '60' } }).metricsInterval).toBe(60);
    expect(() => run({ argv: [...base().argv, '--metrics-interval', '0'] })).toThrow(/--metrics-interval must be/);
    expect(() => run({ env: { REMOTEGPU_METRICS_INTERVAL: '1.5' } })).toThrow(/--metrics-interval must be/);
  });

  it('--help and --version short-circuit everything else', () => {
    expect(parseConfig(base({ argv: ['--bogus', '--help'] })).kind).toBe('help');
    expect(parseConfig(base({ argv: ['--help'] })).kind).toBe('help');
    expect(parseConfig(base({ argv: ['--version'] })).kind).toBe('version');
  });

  it('every flag has a REMOTEGPU_* twin, flags win over env, env over the file', () => {
    for (const o of OPTIONS) expect(o.env).toMatch(/^REMOTEGPU_[A-Z_]+$/);
    const c = run({
      argv: ['--ssh-listen=127.0.0.1:2200', '--config', '/etc/agent.json'],
      env: {
        REMOTEGPU_EDGE: 'http://edge.test:8787',
        REMOTEGPU_TOKEN: 'tok',
        REMOTEGPU_SSH_LISTEN: '0.0.0.0:1',
        REMOTEGPU_LOG_LEVEL: 'debug',
      },
      readFile: (p) => {
        expect(p).toBe('/etc/agent.json');
        return JSON.stringify({
          'log-level': 'warn',
          'ssh-ports': '40000-40100',
          publicHost: 'relay1.example.com',
          'data-shards': 4,
        });
      },
    });
    expect(c.sshListen).toEqual({ host: '127.0.0.1', port: 2200 });
    expect(c.edge).toBe('http://edge.test:8787');
    expect(c.logLevel).toBe('debug');
    expect(c.sshPorts).toEqual([40000, 40100]);
    expect(c.publicHost).toBe('relay1.example.com');
    expect(c.dataShards).toBe(4);
  });

  it('the Docker endpoint defaults to DOCKER_HOST, and a bare socket path is accepted', () => {
    expect(run({ env: { DOCKER_HOST: 'unix:///run/d.sock' } }).docker).toBe('unix:///run/d.sock');
    expect(run({ argv: [...base().argv, '--docker', '/var/run/docker.sock'] }).docker).toBe(
      'unix:///var/run/docker.sock',
    );
    expect(run({ argv: [...base().argv, '--docker', 'tcp://127.0.0.1:2375'] }).docker).toBe('tcp://127.0.0.1:2375');
  });

  it('parses IPv6 listen addresses', () => {
    expect(run({ argv: [...base().argv, '--ssh-listen', '[::]:22'] }).sshListen).toEqual({ host: '::', port: 22 });
  });

  it.each([
    [['--token', 't'], /--edge is required/],
    [['--edge', 'https://e'], /--token is required/],
    [['--edge', 'ftp://e', '--token', 't'], /http\(s\) or ws\(s\)/],
    [['--edge', 'not a url', '--token', 't'], /not a URL/],
    [[...base().argv, '--ssh-ports', '60000-50000'], /60000 is above 50000/],
    [[...base().argv, '--ssh-ports', '1-70000'], /not a port/],
    [[...base().argv, '--ssh-listen', 'nohost'], /host:port/],
    [[...base().argv, '--log-level', 'loud'], /--log-level/],
    [[...base().argv, '--data-shards', '0'], /1 to 63/],
    [[...base().argv, '--ssh-workers', '0'], /--ssh-workers must be auto or an integer from 1 to 256/],
    [[...base().argv, '--ssh-native-crypto', 'maybe'], /require or prefer/],
    [[...base().argv, '--docker', 'http://x'], /--docker/],
    [[...base().argv, '--nope', '1'], /unknown option --nope/],
    [[...base().argv, '--token'], /--token needs a value/],
    [[...base().argv, 'stray'], /unexpected argument/],
  ])('refuses %j with a readable message', (argv, msg) => {
    expect(() => parseConfig(base({ argv }))).toThrow(ConfigError);
    expect(() => parseConfig(base({ argv }))).toThrow(msg);
  });

  it('refuses a bad config file with its path', () => {
    expect(() => run({ argv: ['--config', '/x.json'], readFile: () => '{' })).toThrow(
      /cannot read config file \/x.json/,
    );
    expect(() => run({ argv: ['--config', '/x.json'], readFile: () => '{"colour":"red"}' })).toThrow(
      /unknown key "colour"/,
    );
  });

  it('builds the WebSocket URL of the control connection', () => {
    expect(connectUrl('https://gpu.example.com')).toBe('wss://gpu.example.com/agent/connect');
    expect(connectUrl('http://127.0.0.1:8787/base/')).toBe('ws://127.0.0.1:8787/base/agent/connect');
  });
});
