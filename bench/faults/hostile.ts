// The hostile-relay fuzz, long: many seeds and rounds against the whole local stack (CI runs one short seed in
// test/faults/hostile-relay.test.ts). `npx tsx bench/faults/hostile.ts [--seeds 5] [--rounds 5000]`.
// After each seed: the edge's /healthz, and host Y's environments, machines and audit trail unchanged.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ok } from '../../dev/src/json-api.ts';
import { rentMachine } from '../../dev/src/rent-machine.ts';
import { startStack } from '../../dev/src/stack.ts';
import { hostileRelay, slowLoris } from '../../test/faults/hostile-relay.ts';

const { values } = parseArgs({
  options: { seeds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '5000' } },
});
const seeds = Number(values.seeds);
const rounds = Number(values.rounds);

const stack = await startStack({ admin: { email: 'admin@bench.test', password: randomBytes(12).toString('hex') } });
try {
  const admin = await stack.admin();
  // Host Y: a physical machine rented by a renter (no relay needed: its rows and audit trail are what must not move).
  const y = ok(
    'host',
    await stack.api<{ host: { id: string } }>('/api/v1/admin/hosts', {
      token: admin,
      body: { name: 'y', public_ssh_host: '127.0.0.1' },
    }),
  );
  const renter = ok(
    'register',
    await stack.api<{ token: string }>('/api/v1/auth/register', {
      body: { email: 'y@bench.test', password: 'renter-password-1' },
    }),
  ).token;
  const { envId: env } = await rentMachine(stack.api, {
    admin,
    renter,
    hostId: y.host.id,
    targetIp: '127.0.0.9',
    name: 'y-box',
  });
  const x = ok(
    'hostile host',
    await stack.api<{ token: string }>('/api/v1/admin/hosts', {
      token: admin,
      body: { name: 'x', public_ssh_host: '127.0.0.1' },
    }),
  );
  const state = async () =>
    JSON.stringify([
      (await stack.api('/api/v1/environments', { token: renter })).body,
      (await stack.api('/api/v1/audit-events?limit=500', { token: renter })).body,
      (await stack.api('/api/v1/admin/machines', { token: admin })).body,
    ]);
  const before = await state();
  console.log('| seed | rounds | frames sent | edge closes | wall s | /healthz ms after | host Y unchanged |');
  console.log('| ---- | ------ | ----------- | ----------- | ------ | ----------------- | ---------------- |');
  let failed = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const t0 = Date.now();
    const stop = await slowLoris(stack.url, x.token, 50);
    const r = await hostileRelay({
      edge: stack.url,
      token: x.token,
      seed,
      rounds,
      victims: { envIds: [env], hostId: y.host.id },
    });
    await stop();
    const wall = (Date.now() - t0) / 1000;
    const h0 = Date.now();
    const h = await fetch(`${stack.url}/healthz`);
    const hMs = Date.now() - h0;
    const same = (await state()) === before;
    if (h.status !== 200 || !same) failed++;
    console.log(
      `| ${seed} | ${rounds} | ${r.sent} | ${r.closes.length} | ${wall.toFixed(1)} | ${hMs} (${h.status}) | ${same ? 'yes' : 'NO'} |`,
    );
  }
  process.exitCode = failed ? 1 : 0;
} finally {
  await stack.close();
}
