import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Route } from '@remotegpu/schema';
import { loadOrCreateKeys } from '../ssh/keys.ts';
import { silentLogger } from '../log.ts';
import { MemoryRouteTable } from '../routes/route-table.ts';
import { StateStore } from './store.ts';

const route = (id: string, port: number, extra: Partial<Route> = {}): Route => ({
  environment_id: id,
  type: 'physical',
  user_id: 'u1',
  ssh_port: port,
  ssh_username: 'root',
  target_ip: '127.0.0.2',
  target: { kind: 'ssh', ip: '127.0.0.2', port: 2222, host_key: null },
  password_hash: 'scrypt$x',
  owner_keys: [],
  recording: false,
  running: true,
  ...extra,
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'agent-state-'));
  dirs.push(d);
  return d;
};

describe('state store', () => {
  it('keeps keys, routes, results and the outbox across a restart, in a private file', async () => {
    const dir = tmp();
    const a = StateStore.open(dir);
    const keys = await loadOrCreateKeys(a);
    new MemoryRouteTable(a, silentLogger).replaceAll([route('aaaaaaaaaaaaaaaa', 50001)]);
    a.putResult('cmd1', 'container.create', { ok: true, data: { container_id: 'x' } });
    a.outboxAppend('e1', 'audit', { event: 'login' });
    a.close();
    expect(statSync(join(dir, 'state.db')).mode & 0o777).toBe(0o600);

    const b = StateStore.open(dir);
    expect(await loadOrCreateKeys(b)).toEqual(keys);
    // The edge is down: the restarted relay still knows its routes.
    expect(new MemoryRouteTable(b, silentLogger).byPort(50001)?.environment_id).toBe('aaaaaaaaaaaaaaaa');
    expect(b.getResult('cmd1')).toEqual({
      name: 'container.create',
      result: { ok: true, data: { container_id: 'x' } },
    });
    expect(b.outboxList(10).map((e) => e.id)).toEqual(['e1']);
    b.close();
  }, 60_000); // RSA 3072 key generation is slow on a busy machine

  it('metric samples: one entry per environment and timestamp, at most keepPerEnv each, oldest dropped first', () => {
    const s = StateStore.open(':memory:');
    const at = (i: number) => new Date(Date.UTC(2026, 10, 30, 9, 0, i * 10)).toISOString();
    const sample = (env: string, i: number) => ({ environmentId: env, timestamp: at(i), data: { env, i } });
    s.outboxAppend('audit-1', 'audit', { event: 'login' });
    expect(s.outboxAppendMetrics([sample('envA', 0), sample('envB', 0)], 3)).toEqual(new Map());
    // envA grows past its bound: its two oldest go, envB and the audit event are untouched.
    const dropped = s.outboxAppendMetrics(
      [1, 2, 3, 4].map((i) => sample('envA', i)),
      3,
    );
    expect(dropped).toEqual(new Map([['envA', 2]]));
    // A sample appended again (same environment and timestamp) is one entry.
    expect(s.outboxAppendMetrics([sample('envA', 4)], 3)).toEqual(new Map());
    // An environment id that is a prefix of another's does not share its bound.
    s.outboxAppendMetrics([sample('envAA', 9)], 3);
    const list = s.outboxList(100);
    expect(list.map((e) => e.id)).toEqual([
      'audit-1',
      `metrics:envB:${at(0)}`,
      `metrics:envA:${at(2)}`,
      `metrics:envA:${at(3)}`,
      `metrics:envA:${at(4)}`,
      `metrics:envAA:${at(9)}`,
    ]);
    expect(list.filter((e) => e.name === 'metrics').map((e) => e.data)).toContainEqual({ env: 'envA', i: 4 });
    expect(s.outboxAppendMetrics([sample('envA', 5)], 0)).toEqual(new Map([['envA', 4]]));
  });

  it('outbox: ordered, idempotent appends, paging after a sequence, delete acked', () => {
    const s = StateStore.open(':memory:');
    for (const id of ['a', 'b', 'c', 'a']) s.outboxAppend(id, 'audit', { id });
    expect(s.outboxCount()).toBe(3);
    const first = s.outboxList(2);
    expect(first.map((e) => e.id)).toEqual(['a', 'b']);
    expect(s.outboxList(10, first[1]!.seq).map((e) => e.id)).toEqual(['c']);
    expect(s.outboxDelete(['a', 'c', 'zzz'])).toBe(2);
    expect(s.outboxList(10).map((e) => e.id)).toEqual(['b']);
    s.close();
  });

  it('prunes old command results', () => {
    let now = 1_000_000;
    const s = StateStore.open(':memory:', () => now);
    s.putResult('old', 'x', 1);
    now += 10_000;
    s.putResult('new', 'x', 2);
    expect(s.pruneResults(5_000)).toBe(1);
    expect(s.getResult('old')).toBeNull();
    expect(s.getResult('new')?.result).toBe(2);
    s.close();
  });
});

describe('route table', () => {
  it('replace-all, upsert (port moves), remove, and listeners hear the difference', () => {
    const s = StateStore.open(':memory:');
    const t = new MemoryRouteTable(s, silentLogger);
    const heard: [string[], string[]][] = [];
    const off = t.onChange((up, rm) => heard.push([up.map((r) => r.environment_id), rm]));
    t.replaceAll([route('aaaaaaaaaaaaaaaa', 50001), route('bbbbbbbbbbbbbbbb', 50002)]);
    t.replaceAll([route('aaaaaaaaaaaaaaaa', 50001), route('cccccccccccccccc', 50003)]);
    t.upsert(route('aaaaaaaaaaaaaaaa', 50009));
    expect(t.byPort(50001)).toBeUndefined();
    expect(t.byPort(50009)?.environment_id).toBe('aaaaaaaaaaaaaaaa');
    t.remove('cccccccccccccccc');
    t.remove('not-there-at-all');
    off();
    t.upsert(route('dddddddddddddddd', 50004));
    expect(heard).toEqual([
      [['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'], []],
      [['cccccccccccccccc'], ['bbbbbbbbbbbbbbbb']],
      [['aaaaaaaaaaaaaaaa'], []],
      [[], ['cccccccccccccccc']],
    ]);
    expect(
      new MemoryRouteTable(s, silentLogger)
        .all()
        .map((r) => r.ssh_port)
        .sort(),
    ).toEqual([50004, 50009]);
    s.close();
  });
});
