// Drives the real @upstash/redis client against the Upstash REST bridge and checks redis-server directly.
import { Redis } from '@upstash/redis';
import { createClient } from 'redis';
// Type-only: brings in the ProvidedContext declaration for inject().
import type {} from '../../test/global-setup.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const url = inject('upstashUrl');
const token = inject('upstashToken');
const prefix = `bridge-test:${Date.now()}:`;
const k = (name: string): string => prefix + name;

const redis = new Redis({ url, token, enableTelemetry: false });
const direct = createClient({ url: inject('redisUrl') });

beforeAll(async () => {
  await direct.connect();
});
afterAll(async () => {
  await direct.close();
});

describe('Upstash REST bridge', () => {
  it('set/get with ex, visible to redis-server directly', async () => {
    expect(await redis.set(k('s'), 'hello', { ex: 60 })).toBe('OK');
    expect(await redis.get(k('s'))).toBe('hello');
    expect(await direct.get(k('s'))).toBe('hello');
    const ttl = await redis.ttl(k('s'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it('round-trips numbers, JSON objects and non-ASCII text', async () => {
    await redis.set(k('n'), 42);
    expect(await redis.get(k('n'))).toBe(42);
    expect(await direct.get(k('n'))).toBe('42');
    await redis.set(k('obj'), { a: 1, b: ['x', 'ÿ€😀'] });
    expect(await redis.get(k('obj'))).toEqual({ a: 1, b: ['x', 'ÿ€😀'] });
    await direct.set(k('plain'), 'grüße');
    expect(await redis.get(k('plain'))).toBe('grüße');
    expect(await redis.get(k('missing'))).toBeNull();
  });

  it('hset/hgetall, del, incr, expire/ttl', async () => {
    expect(await redis.hset(k('h'), { name: 'gpu-1', slots: 4 })).toBe(2);
    expect(await redis.hgetall(k('h'))).toEqual({ name: 'gpu-1', slots: 4 });
    expect(await direct.hGet(k('h'), 'name')).toBe('gpu-1');
    expect(await redis.incr(k('c'))).toBe(1);
    expect(await redis.incrby(k('c'), 5)).toBe(6);
    expect(await redis.ttl(k('c'))).toBe(-1);
    expect(await redis.expire(k('c'), 100)).toBe(1);
    expect(await direct.ttl(k('c'))).toBeGreaterThan(90);
    expect(await redis.del(k('c'), k('h'))).toBe(2);
    expect(await direct.exists(k('h'))).toBe(0);
  });

  it('scan and keys', async () => {
    await Promise.all(['a', 'b', 'c'].map((x) => redis.set(k(`scan:${x}`), x)));
    const found: string[] = [];
    let cursor: string | number = 0;
    do {
      const [next, keys]: [string, string[]] = await redis.scan(cursor, { match: k('scan:*'), count: 2 });
      found.push(...keys);
      cursor = next;
    } while (String(cursor) !== '0');
    expect(found.sort()).toEqual([k('scan:a'), k('scan:b'), k('scan:c')]);
    expect((await redis.keys(k('scan:*'))).sort()).toEqual(found);
  });

  it('auto-pipelines parallel calls', async () => {
    const values = Array.from({ length: 20 }, (_, i) => `v${i}`);
    await Promise.all(values.map((v, i) => redis.set(k(`p${i}`), v)));
    const got = await Promise.all(values.map((_, i) => redis.get<string>(k(`p${i}`))));
    expect(got).toEqual(values);
  });

  it('explicit pipeline() and multi()', async () => {
    const p = redis.pipeline();
    p.set(k('pl'), 'x');
    p.incr(k('plc'));
    p.get(k('pl'));
    p.hset(k('plh'), { f: 'v' });
    p.hgetall(k('plh'));
    expect(await p.exec()).toEqual(['OK', 1, 'x', 1, { f: 'v' }]);

    const m = redis.multi();
    m.set(k('tx'), 'a');
    m.append(k('tx'), 'b');
    m.get(k('tx'));
    m.incr(k('txc'));
    expect(await m.exec()).toEqual(['OK', 2, 'ab', 1]);
    expect(await direct.get(k('tx'))).toBe('ab');
  });

  it('reports per-command errors inside a pipeline', async () => {
    await redis.set(k('str'), 'not-a-number');
    const p = redis.pipeline();
    p.set(k('ok'), 'fine');
    p.incr(k('str'));
    await expect(p.exec()).rejects.toThrow(/not an integer/);
    const results = await redis.pipeline().set(k('ok2'), 1).incr(k('str')).exec({ keepErrors: true });
    expect(results[0]).toMatchObject({ result: 'OK' });
    expect(results[1]).toMatchObject({ error: expect.stringMatching(/not an integer/) });
  });

  it('an unknown command is an error', async () => {
    // The client has no raw-command API: reach the unknown command through a script, then over plain REST.
    const single = new Redis({ url, token, enableAutoPipelining: false, enableTelemetry: false });
    await expect(single.eval('return redis.call("nosuchcmd")', [], [])).rejects.toThrow(/unknown redis command/i);
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify(['nosuchcommand', 'x']),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/^ERR unknown command/) });
  });

  it('rejects a bad token with 401', async () => {
    const bad = new Redis({ url, token: 'wrong-token', enableTelemetry: false });
    await expect(bad.get(k('s'))).rejects.toThrow(/Unauthorized/);
    const res = await fetch(`${url}/pipeline`, { method: 'POST', body: '[["get","x"]]' });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'Unauthorized' });
  });

  it('plain (non-base64) encoding works for raw REST callers', async () => {
    await redis.hset(k('raw'), { a: '1' });
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify(['hgetall', k('raw')]),
    });
    expect(await res.json()).toEqual({ result: ['a', '1'] });
  });
});
