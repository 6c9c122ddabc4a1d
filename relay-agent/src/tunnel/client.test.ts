import { afterEach, describe, expect, it } from 'vitest';
import { CMD, MSG, PROTOCOL_VERSION } from '@remotegpu/schema';
import type { Hello, Route } from '@remotegpu/schema';
import { Outbox } from '../audit/outbox.ts';
import { createLogger, silentLogger } from '../log.ts';
import { MemoryRouteTable } from '../routes/route-table.ts';
import { StateStore } from '../state/store.ts';
import { FakeEdge } from '../testing/fake-edge.ts';
import { CommandDispatcher, CommandFailure } from './dispatcher.ts';
import { TunnelClient } from './client.ts';
import type { TunnelOptions } from './client.ts';
import { PermanentError } from './errors.ts';

const route = (id: string, port: number): Route => ({
  environment_id: id,
  type: 'container',
  user_id: 'u1',
  ssh_port: port,
  ssh_username: 'root',
  target_ip: '172.31.1.2',
  target: { kind: 'docker', container_id: 'c1' },
  password_hash: 'scrypt$x',
  owner_keys: [],
  recording: false,
  running: true,
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(edgeOpts: Parameters<typeof FakeEdge.start>[0] = {}, over: Partial<TunnelOptions> = {}) {
  const edge = await FakeEdge.start(edgeOpts);
  cleanups.push(() => edge.close());
  const store = StateStore.open(':memory:');
  cleanups.push(() => store.close());
  const routes = new MemoryRouteTable(store, silentLogger);
  const outbox = new Outbox(store, silentLogger);
  const dispatcher = new CommandDispatcher(store, silentLogger);
  let calls = 0;
  dispatcher.register('test.echo', async (args) => ({ echo: args, calls: ++calls }));
  dispatcher.register('test.fail', async () => {
    throw new CommandFailure('gpu_unavailable', 'no GPUs here');
  });
  const hello = async (): Promise<Hello> => ({
    type: MSG.hello,
    protocol: PROTOCOL_VERSION,
    agent_version: '0.1.0',
    role: 'control',
    inventory: { cpu_cores: 2, memory_bytes: 1024, gpus: [], docker_version: '26.1.5', nvidia_runtime: false },
    containers: [],
  });
  const tunnel = new TunnelClient({
    url: `ws://127.0.0.1:${edge.port}/agent/connect`,
    token: 'test-token',
    log: silentLogger,
    hello,
    routes,
    commands: dispatcher,
    outbox,
    backoff: { baseMs: 20, capMs: 100 },
    connectTimeoutMs: 2000,
    ...over,
  });
  outbox.onAppend(() => tunnel.kick());
  const done = tunnel.start();
  cleanups.push(() => tunnel.stop());
  return { edge, store, routes, outbox, tunnel, done };
}

describe('tunnel client against a fake edge', () => {
  it('hello → welcome (routes applied) → cmd → result', async () => {
    const { edge, routes, tunnel } = await setup({ routes: [route('aaaaaaaaaaaaaaaa', 50001)] });
    await tunnel.whenConnected();
    const hello = edge.hellos[0]!;
    expect(hello).toMatchObject({
      protocol: PROTOCOL_VERSION,
      role: 'control',
      agent_version: '0.1.0',
      containers: [],
    });
    expect(hello.inventory?.cpu_cores).toBe(2);
    expect(routes.byPort(50001)?.environment_id).toBe('aaaaaaaaaaaaaaaa');
    expect(await edge.command('test.echo', { a: 1 })).toMatchObject({
      type: 'result',
      ok: true,
      data: { echo: { a: 1 } },
    });
    expect(await edge.command('test.fail', {})).toMatchObject({
      ok: false,
      error: { code: 'gpu_unavailable', message: 'no GPUs here', retryable: false },
    });
    expect(await edge.command('no.such', {})).toMatchObject({ ok: false, error: { code: 'unknown_command' } });
  });

  it('a retried command id gets the stored result, not a second run', async () => {
    const { edge, tunnel } = await setup();
    await tunnel.whenConnected();
    const first = await edge.command('test.echo', {}, { id: 'same' });
    const again = await edge.command('test.echo', {}, { id: 'same' });
    expect(again).toEqual(first);
    expect(first).toMatchObject({ data: { calls: 1 } });
  });

  it('applies route.upsert and route.remove', async () => {
    const { edge, routes, tunnel } = await setup();
    await tunnel.whenConnected();
    edge.send({ type: MSG.routeUpsert, route: route('bbbbbbbbbbbbbbbb', 50002) });
    edge.send({ type: MSG.routeUpsert, route: route('cccccccccccccccc', 50003) });
    edge.send({ type: MSG.routeRemove, environment_id: 'bbbbbbbbbbbbbbbb' });
    await edge.command('test.echo', {}); // ordered after the route messages
    expect(routes.all().map((r) => r.environment_id)).toEqual(['cccccccccccccccc']);
  });

  it('garbage frames never crash it', async () => {
    const { edge, tunnel } = await setup();
    await tunnel.whenConnected();
    for (const junk of [
      '{',
      'null',
      '[]',
      '{"type":5}',
      '{"type":"future.thing"}',
      '{"type":"cmd","id":"x"}',
      'x'.repeat(100_000),
    ])
      edge.sendRaw(junk);
    edge.sendRaw(Buffer.from([1, 2, 3]));
    edge.send({ type: MSG.cmd, id: 'late', name: 'test.echo', deadline: Date.now() - 1, args: {} });
    expect(await edge.command('test.echo', { still: 'alive' })).toMatchObject({ ok: true });
    expect(await edge.waitFor((m) => m.type === MSG.result && m.id === 'late')).toMatchObject({
      ok: false,
      error: { code: 'deadline_exceeded', retryable: true },
    });
    expect(edge.connections).toBe(1);
  });

  it('answers pings, sends heartbeats, and reconnects when the edge goes silent', async () => {
    const { edge, tunnel } = await setup({ heartbeatMs: 50 });
    await tunnel.whenConnected();
    edge.send({ type: MSG.ping, ts: 42 });
    await edge.waitFor((m) => m.type === MSG.pong && m.ts === 42);
    await edge.waitFor((m) => m.type === MSG.ping);
    edge.answerPings = false;
    await edge.waitFor((_m, conn) => conn === 2, 5000); // dead after three missed beats, then a new hello
    expect(edge.hellos.length).toBe(2);
  });

  it('reconnects by itself after the edge drops the connection', async () => {
    const { edge, tunnel } = await setup();
    await tunnel.whenConnected();
    edge.dropAll();
    await edge.waitFor((m, conn) => conn === 2 && m.type === MSG.hello);
    await tunnel.whenConnected();
    expect(await edge.command('test.echo', { after: 'reconnect' })).toMatchObject({ ok: true });
  });

  it('a refused token ends it with a permanent error', async () => {
    const edge = await FakeEdge.start({ token: 'other' });
    edge.close();
    const { done } = await setup({ token: 'not-the-agents' });
    await expect(done).rejects.toBeInstanceOf(PermanentError);
    await expect(done).rejects.toThrow(/HTTP 401/);
  });

  it('drains the audit outbox as batches and deletes entries only on ack', async () => {
    const { edge, outbox, store, tunnel } = await setup({ autoAck: false });
    const rec = (event: string) => ({
      timestamp: new Date().toISOString(),
      environment_id: 'aaaaaaaaaaaaaaaa',
      type: 'container',
      event,
      source_ip: '127.0.0.1',
      username: 'root',
      status: 'success',
    });
    outbox.record(rec('login'));
    outbox.record(rec('logout'));
    await tunnel.whenConnected();
    const batch = await edge.waitFor((m) => m.type === MSG.event && m.name === 'audit');
    const events = (batch as { data: { events: { id: string; event: string }[] } }).data.events;
    expect(events.map((e) => e.event)).toEqual(['login', 'logout']);
    expect(store.outboxCount()).toBe(2);
    // Not acked: a new connection sends them again.
    edge.dropAll();
    await edge.waitFor((m, conn) => conn === 2 && m.type === MSG.event && m.name === 'audit');
    edge.send({ type: MSG.ack, ids: events.map((e) => e.id) });
    edge.send({ type: MSG.ping, ts: 7 }); // its pong comes after the ack was applied
    await edge.waitFor((m) => m.type === MSG.pong && m.ts === 7);
    expect(store.outboxCount()).toBe(0);
    outbox.record(rec('later')); // appended while connected: sent at once
    await edge.waitFor((m) => m.type === MSG.event && JSON.stringify(m).includes('"later"'));
    expect(store.outboxList(10).map((e) => (e.data as { event: string }).event)).toEqual(['later']);
  });

  it('metric samples taken while disconnected go up as one metrics batch with ids, and leave the outbox on ack', async () => {
    const { edge, outbox, store, tunnel } = await setup({ autoAck: false });
    const sample = (i: number) => ({
      environment_id: 'aaaaaaaaaaaaaaaa',
      type: 'container' as const,
      timestamp: new Date(Date.UTC(2026, 10, 30, 9, 0, i)).toISOString(),
      cpu_usage: i,
      memory_usage: 1,
      gpu_usage: 0,
      network_in: 0,
      network_out: 0,
    });
    outbox.metrics([sample(1)], 10);
    outbox.metrics([sample(2)], 10);
    await tunnel.whenConnected();
    const batch = await edge.waitFor((m) => m.type === MSG.event && m.name === 'metrics');
    const samples = (batch as { data: { samples: { id: string; cpu_usage: number }[] } }).data.samples;
    expect(samples.map((x) => x.cpu_usage)).toEqual([1, 2]);
    expect(samples.every((x) => x.id.startsWith('metrics:aaaaaaaaaaaaaaaa:'))).toBe(true);
    // Not acked: a new connection sends them again (the edge stores each once).
    edge.dropAll();
    await edge.waitFor((m, conn) => conn === 2 && m.type === MSG.event && m.name === 'metrics');
    edge.send({ type: MSG.ack, ids: samples.map((x) => x.id) });
    edge.send({ type: MSG.ping, ts: 8 });
    await edge.waitFor((m) => m.type === MSG.pong && m.ts === 8);
    expect(store.outboxCount()).toBe(0);
  });

  it('a full metric backlog drops the oldest samples of that environment and logs how many', () => {
    const lines: Record<string, unknown>[] = [];
    const store = StateStore.open(':memory:');
    cleanups.push(() => store.close());
    const outbox = new Outbox(store, createLogger({ level: 'warn', write: (l) => lines.push(JSON.parse(l)) }));
    const sample = (env: string, i: number) => ({
      environment_id: env,
      type: 'container' as const,
      timestamp: new Date(Date.UTC(2026, 10, 30, 9, 0, i)).toISOString(),
      cpu_usage: i,
      memory_usage: 1,
      gpu_usage: 0,
      network_in: 0,
      network_out: 0,
    });
    for (let i = 0; i < 5; i++) outbox.metrics([sample('envA', i), sample('envB', i)], 3);
    expect(
      store
        .outboxList(100)
        .map(
          (e) =>
            `${(e.data as { environment_id: string }).environment_id}:${(e.data as { cpu_usage: number }).cpu_usage}`,
        )
        .sort(),
    ).toEqual(['envA:2', 'envA:3', 'envA:4', 'envB:2', 'envB:3', 'envB:4']);
    const warns = lines.filter((l) => l.msg === 'metric backlog full: oldest samples dropped');
    expect(warns.map((l) => [l.env_id, l.dropped])).toEqual([
      ['envA', 1],
      ['envB', 1],
      ['envA', 1],
      ['envB', 1],
    ]);
    expect(warns.at(-1)).toMatchObject({ dropped_total: 4, keep: 3 });
  });

  it('metric samples the state file cannot take go to the fallback, with one error logged a minute', () => {
    const lines: Record<string, unknown>[] = [];
    const store = StateStore.open(':memory:');
    cleanups.push(() => store.close());
    store.outboxAppendMetrics = () => {
      throw new Error('database or disk is full');
    };
    const outbox = new Outbox(store, createLogger({ level: 'warn', write: (l) => lines.push(JSON.parse(l)) }));
    const sent: number[] = [];
    outbox.setMetricsFallback((samples) => sent.push(samples.length));
    const sample = {
      environment_id: 'envA',
      type: 'container' as const,
      timestamp: new Date().toISOString(),
      cpu_usage: 1,
      memory_usage: 1,
      gpu_usage: 0,
      network_in: 0,
      network_out: 0,
    };
    outbox.metrics([sample, { ...sample, environment_id: 'envB' }], 10);
    outbox.metrics([sample], 10);
    expect(sent).toEqual([2, 1]);
    expect(
      lines.filter((l) => l.msg === 'could not persist metric samples: sending them without a local copy').length,
    ).toBe(1);
  });

  it('queues results and events while disconnected, bounded', async () => {
    const edge = await FakeEdge.start();
    cleanups.push(() => edge.close());
    const { tunnel } = await setup({}, { url: 'ws://127.0.0.1:9/agent/connect', queueLimit: 3 });
    for (let i = 0; i < 5; i++) tunnel.emit('container.state', { n: i });
    tunnel.emit('metrics', { samples: [] }, { droppable: true });
    expect((tunnel as unknown as { queue: string[] }).queue.map((t) => JSON.parse(t).data.n)).toEqual([2, 3, 4]);
  });

  it('an edge that accepts but never welcomes is dropped after the connect timeout and tried again', async () => {
    const { edge } = await setup({ welcome: false }, { connectTimeoutMs: 50 });
    await edge.waitFor((m, conn) => conn === 2 && m.type === MSG.hello, 5000);
    expect(edge.hellos.length).toBeGreaterThanOrEqual(2);
  });

  it('sends the command names the edge uses', () => {
    expect(CMD.containerCreate).toBe('container.create');
  });
});
