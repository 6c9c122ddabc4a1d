// Metering end to end without a network: the relay's meter and durable outbox (real state store, injected clock)
// feed the edge's event handler and ledger (real libsql). Running 90 s costs exactly 90 s; a relay whose edge is away
// for 10 minutes reports afterwards, and nothing is lost or charged twice (even when a delivery is repeated).
import { createClient } from '@libsql/client';
import { EVENT, MIGRATIONS, applyMigrations, tables } from '@remotegpu/schema';
import { drizzle } from 'drizzle-orm/libsql';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Deps } from '../deps.ts';
import { readBillingConfig } from './config.ts';
import { reconcile } from './ledger.ts';
import { onEvent } from '../tunnel/host-events.ts';
import { Outbox } from '../../../relay-agent/src/audit/outbox.ts';
import { silentLogger } from '../../../relay-agent/src/log.ts';
import { RunningMeter } from '../../../relay-agent/src/metering/meter.ts';
import { StateStore } from '../../../relay-agent/src/state/store.ts';

const ENV = 'meteredenv000001';
const HOST = 'hst_meter';
const USER = 'usr_meter';

let deps: Deps;
let client: ReturnType<typeof createClient>;
let t: number;
let store: StateStore;
let outbox: Outbox;

beforeEach(async () => {
  client = createClient({ url: ':memory:' });
  await applyMigrations(client, MIGRATIONS);
  const db = drizzle(client, { schema: tables });
  deps = {
    db,
    database: { client, db },
    config: { billing: readBillingConfig({} as never) },
  } as unknown as Deps;
  await db.insert(tables.users).values({ id: USER, email: 'm@example.test', password_hash: 'x' });
  await db.insert(tables.hosts).values({ id: HOST, name: 'h', token_hash: 'th', public_ssh_host: '127.0.0.1' });
  // 36.00 an hour: one fen a second, so seconds and fen read the same.
  const [img] = await db
    .insert(tables.images)
    .values({ name: 'i', docker_ref: 'busybox', hourly_price: 36 })
    .returning();
  await db.insert(tables.environments).values({
    id: ENV,
    name: 'e',
    type: 'container',
    ssh_host: 'h',
    ssh_port: 50001,
    image_id: img!.id,
    user_id: USER,
    status: 'running',
    host_id: HOST,
    password_hash: 'x',
    password_enc: 'x',
  });
  t = 1_800_000_000_000;
  store = StateStore.open(':memory:');
  outbox = new Outbox(store, silentLogger);
});

/** What the tunnel does while connected: send every outbox entry, and forget those the edge acked. */
async function deliver(opts: { dropAcks?: boolean } = {}): Promise<number> {
  const entries = outbox.list(1000);
  const acked: string[] = [];
  for (const e of entries) acked.push(...(await onEvent(deps, HOST, { name: e.name, id: e.id, data: e.data })));
  if (!opts.dropAcks) outbox.ack(acked);
  return entries.length;
}

const charged = async () => {
  const r = await client.execute({
    sql: 'SELECT -COALESCE(SUM(amount), 0) FROM ledger_entries WHERE environment_id = ?',
    args: [ENV],
  });
  return Number(r.rows[0]![0]);
};
const meterSeconds = async () =>
  Number(
    (await client.execute({ sql: 'SELECT seconds FROM env_meters WHERE environment_id = ?', args: [ENV] })).rows[0]![0],
  );

describe('metering from the relay running time', () => {
  it('a container running 90 s is charged exactly 90 s', async () => {
    const meter = new RunningMeter(store, outbox, () => t, silentLogger);
    meter.observe(ENV, 'running');
    t += 60_000;
    meter.flush();
    t += 30_400;
    meter.observe(ENV, 'exited');
    expect(await deliver()).toBe(2);
    expect(await meterSeconds()).toBe(90);
    expect(await charged()).toBe(90);
    // Stopped: later ticks report nothing new and charge nothing.
    t += 3_600_000;
    meter.flush();
    expect(await deliver()).toBe(0);
    expect(await charged()).toBe(90);
    expect((await reconcile(client, USER))[0]?.ok).toBe(true);
  });

  it('an edge away for 10 minutes: the relay keeps counting, reports afterwards, nothing lost or doubled', async () => {
    let meter = new RunningMeter(store, outbox, () => t, silentLogger);
    meter.observe(ENV, 'running');
    t += 60_000;
    meter.flush();
    expect(await deliver()).toBe(1);
    expect(await charged()).toBe(60);

    // The edge goes away: ten minutes of ticks pile up in the outbox.
    for (let i = 0; i < 10; i++) {
      t += 60_000;
      meter.flush();
    }
    // The agent restarts in the middle of it; the container kept running, the count goes on from its state file.
    meter = new RunningMeter(store, outbox, () => t, silentLogger);
    t += 15_000;
    meter.observe(ENV, 'exited');
    expect(await charged()).toBe(60);

    // The edge is back: the first delivery is charged but its acks are lost, so everything is sent again.
    expect(await deliver({ dropAcks: true })).toBe(11);
    expect(await charged()).toBe(60 + 600 + 15);
    expect(await deliver()).toBe(11);
    expect(await charged()).toBe(675);
    expect(await meterSeconds()).toBe(675);
    expect(outbox.list(1000)).toHaveLength(0);
    const [check] = await reconcile(client, USER);
    expect(check).toMatchObject({ ok: true, stored: -675 });
    // A late, out-of-order repeat of an old report changes nothing.
    await onEvent(deps, HOST, {
      name: EVENT.usage,
      id: 'x',
      data: { environment_id: ENV, running_seconds: 120, at: t },
    });
    expect(await charged()).toBe(675);
  });

  it('another relay cannot charge for an environment it does not serve', async () => {
    await onEvent(deps, 'hst_other', {
      name: EVENT.usage,
      id: 'y',
      data: { environment_id: ENV, running_seconds: 500, at: t },
    });
    expect(await charged()).toBe(0);
  });
});
