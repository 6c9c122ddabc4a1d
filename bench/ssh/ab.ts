// Relay CPU per GiB of two (or more) checkouts, measured interleaved: on a shared machine the load changes from one
// minute to the next, so relays A and B take turns transfer by transfer against the same sshd, and the table gives the
// median and the minimum of each. Run: npx tsx bench/ssh/ab.ts /work/main /work/wt-x (each checkout with its npm ci).
// The same checkout twice shows how far two relay processes running the same code differ. Env: BENCH_MIB (per
// transfer, default 128), BENCH_ROUNDS (default 8), BENCH_PORT_BASE (default 29500).
import { fork, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Route } from '@remotegpu/schema';
import { hashPassword } from '../../relay-agent/test/ssh/fakes.ts';
import { generateUsableKeyPair } from '../../relay-agent/src/ssh/keys.ts';
import { requireTools } from '../preflight.ts';
import { asker } from './ipc.ts';
import { startSshd } from './sshd.ts';

requireTools('bench/ssh', [
  { need: 'ssh', pkg: 'openssh-client' },
  { need: '/usr/sbin/sshd', pkg: 'openssh-server' },
]);

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_MIB ?? 128);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const PORT_BASE = Number(process.env.BENCH_PORT_BASE ?? 29_500);
const DIR = `/tmp/ssh-ab-${PORT_BASE}`;
const checkouts = process.argv.slice(2).map((p) => resolve(p));
if (checkouts.length < 1) {
  console.error('usage: npx tsx bench/ssh/ab.ts <checkout> [<checkout>...]');
  process.exit(2);
}

interface Relay {
  name: string;
  port: number;
  cpu(): Promise<number>;
  /** Minor page faults so far. */
  faults(): number;
  stop(): void;
}

/** The relay of one checkout in its own process (its bench/ssh/relay-child.ts, resolving its own node_modules). */
async function startRelay(dir: string, i: number, route: Route, keys: object): Promise<Relay> {
  const port = PORT_BASE + 50 + i;
  const child = fork(join(dir, 'bench/ssh/relay-child.ts'), [], {
    cwd: dir,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = asker(child);
  await ask(
    { type: 'start', routes: [{ ...route, ssh_port: port }], keys, portRange: [port, port], workers: 1 },
    'ready',
  );
  return {
    name: `${String.fromCharCode(65 + i)} ${dir}`,
    port,
    cpu: async () => (await ask<{ seconds: number }>({ type: 'cpu' }, 'cpu')).seconds,
    faults: () => Number(readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[7]),
    stop: () => child.kill(),
  };
}

function sh(cmd: string): Promise<void> {
  return new Promise((res, rej) => {
    const c = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('close', (code) => (code === 0 ? res() : rej(new Error(`${cmd}: exit ${code}`))));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

rmSync(DIR, { recursive: true, force: true });
const platform = generateUsableKeyPair('ed25519');
const hostKey = generateUsableKeyPair('ed25519');
const sshd = await startSshd(join(DIR, 'sshd'), '127.0.0.3', PORT_BASE + 22, [platform.public.trim()]);
const big = join(DIR, 'big');
const fd = openSync(big, 'w');
for (let i = 0; i < SIZE; i++) writeSync(fd, randomBytes(MiB));
closeSync(fd);
const ownerKey = join(DIR, 'sshd', 'client_ed25519');
const known = join(DIR, 'known_relay');
writeFileSync(known, `* ${hostKey.public.trim()}\n`);
const route: Route = {
  environment_id: 'benchenv00000001',
  type: 'physical',
  user_id: 'bench',
  ssh_port: 0,
  ssh_username: 'root',
  target_ip: sshd.host,
  target: { kind: 'ssh', ip: sshd.host, port: sshd.port, host_key: sshd.hostKeyLine },
  password_hash: hashPassword('bench-password'),
  owner_keys: [readFileSync(`${ownerKey}.pub`, 'utf8').trim()],
  recording: false,
  running: true,
};
const keys = { hostKeys: [hostKey.private], platformPrivateKey: platform.private, platformPublicKey: platform.public };
const relays: Relay[] = [];
for (const [i, dir] of checkouts.entries()) relays.push(await startRelay(dir, i, route, keys));
const ssh = (port: number) =>
  [
    '-F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o Compression=no -c aes128-gcm@openssh.com',
    `-i ${ownerKey} -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${known} -p ${port} root@127.0.0.1`,
  ].join(' ');
const kinds = {
  upload: (port: number) => `ssh ${ssh(port)} 'cat > /dev/null' < ${big}`,
  download: (port: number) => `ssh ${ssh(port)} 'cat ${big}' > /dev/null`,
};
const res = new Map<string, number[]>();
const faults = new Map<string, number[]>();
for (let r = 0; r < ROUNDS; r++) {
  // Alternate who goes first, so that neither always follows the other's transfer.
  const order = r % 2 ? [...relays].reverse() : relays;
  for (const [kind, cmd] of Object.entries(kinds)) {
    for (const relay of order) {
      const c0 = await relay.cpu();
      const f0 = relay.faults();
      await sh(cmd(relay.port));
      const key = `${relay.name} ${kind}`;
      res.set(key, [...(res.get(key) ?? []), ((await relay.cpu()) - c0) / (SIZE / 1024)]);
      faults.set(key, [...(faults.get(key) ?? []), (relay.faults() - f0) / (SIZE / 1024)]);
    }
  }
}
for (const r of relays) r.stop();
sshd.stop();
rmSync(DIR, { recursive: true, force: true });
console.log(`\nRelay CPU per GiB (user + system), ${ROUNDS} rounds of ${SIZE} MiB, aes128-gcm, interleaved\n`);
for (const [key, xs] of faults)
  console.log(`${key.padEnd(40)} minor page faults per GiB: median ${median(xs).toFixed(0)}`);
for (const [key, xs] of res)
  console.log(
    `${key.padEnd(40)} median ${median(xs).toFixed(2)}  min ${Math.min(...xs).toFixed(2)} s/GiB  (${xs.map((x) => x.toFixed(2)).join(' ')})`,
  );
