// The CLI's device-code login: codes, approval by a signed-in renter, one token per approval, expiry, no secret stored.
import { createClient } from '@libsql/client/web';
import { Redis } from '@upstash/redis/cloudflare';
import { describe, expect, it } from 'vitest';
import { ORIGIN, bindings, call, json, registerUser } from './helpers.ts';

const sql = createClient({ url: bindings.LIBSQL_URL, authToken: bindings.LIBSQL_AUTH_TOKEN });
const redis = new Redis({
  url: bindings.UPSTASH_REDIS_REST_URL,
  token: bindings.UPSTASH_REDIS_REST_TOKEN,
  enableTelemetry: false,
  automaticDeserialization: false,
});

interface Codes {
  device_code: string;
  user_code: string;
  verification_url: string;
  interval: number;
  expires_in: number;
}
type Err = { error: { code: string; message: string } };

const start = async (client_name = 'laptop-1') => {
  const r = await json<Codes>('/api/v1/cli/device-codes', { body: { client_name } });
  expect(r.status).toBe(201);
  return r.body;
};
const poll = (device_code: string) =>
  json<{ token: string; token_name: string; user: { email: string } } & Err>('/api/v1/cli/device-codes/token', {
    body: { device_code },
  });

describe('CLI device-code login', () => {
  it('pending until a renter approves; then one API token named for the client, and the code is spent', async () => {
    const codes = await start('gpu-laptop');
    expect(codes.user_code).toMatch(/^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
    expect(codes.verification_url).toBe(`${ORIGIN}/cli/approve?code=${codes.user_code}`);
    expect(codes).toMatchObject({ interval: 2, expires_in: 600 });

    const pending = await poll(codes.device_code);
    expect(pending.status).toBe(428);
    expect(pending.body.error.code).toBe('authorization_pending');

    const renter = await registerUser();
    // Typed loosely (lower case, no dash) it is still the same code.
    const typed = codes.user_code.replace('-', '').toLowerCase();
    const approved = await json<{ client_name: string }>('/api/v1/cli/device-codes/approve', {
      token: renter.token,
      body: { user_code: typed },
    });
    expect(approved.status).toBe(200);
    expect(approved.body.client_name).toBe('gpu-laptop');
    const again = await json<Err>('/api/v1/cli/device-codes/approve', {
      token: renter.token,
      body: { user_code: codes.user_code },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_approved');

    const got = await poll(codes.device_code);
    expect(got.status).toBe(200);
    expect(got.body.token).toMatch(/^rgt_/);
    expect(got.body.token_name).toBe('cli on gpu-laptop');
    expect(got.body.user.email).toBe(renter.email);
    const me = await json<{ user: { id: string } }>('/api/v1/me', { token: got.body.token });
    expect(me.body.user.id).toBe(renter.id);
    const tokens = await json<{ items: { name: string }[] }>('/api/v1/tokens', { token: renter.token });
    expect(tokens.body.items.map((i) => i.name)).toContain('cli on gpu-laptop');

    const spent = await poll(codes.device_code);
    expect(spent.status).toBe(400);
    expect(spent.body.error.code).toBe('invalid_grant');
  });

  it('stores neither secret in Redis and only the hash of the device code in the database', async () => {
    const codes = await start();
    const rows = await sql.execute({
      sql: 'SELECT id FROM cli_device_codes WHERE user_code = ?',
      args: [codes.user_code],
    });
    expect(rows.rows).toHaveLength(1);
    expect(String(rows.rows[0]!.id)).toMatch(/^[0-9a-f]{64}$/);
    const dump = await sql.execute('SELECT * FROM cli_device_codes');
    expect(JSON.stringify(dump.rows)).not.toContain(codes.device_code);
    for (const key of await redis.keys('*')) {
      expect(key).not.toContain(codes.device_code);
      const type = await redis.type(key);
      if (type === 'string') expect(String(await redis.get(key))).not.toContain(codes.device_code);
    }
  });

  it('an expired code can be neither approved nor polled', async () => {
    const codes = await start();
    await sql.execute({
      sql: 'UPDATE cli_device_codes SET expires_at = ? WHERE user_code = ?',
      args: [Date.now() - 1000, codes.user_code],
    });
    const renter = await registerUser();
    const approve = await json<Err>('/api/v1/cli/device-codes/approve', {
      token: renter.token,
      body: { user_code: codes.user_code },
    });
    expect(approve.status).toBe(404);
    const r = await poll(codes.device_code);
    expect(r.status).toBe(410);
    expect(r.body.error.code).toBe('expired_token');
  });

  it('one address may start 20 logins and try 30 approvals in 15 minutes; another address is not affected', async () => {
    // An address of its own (an IPv6 /64 no other test uses), so that a reused Redis cannot have counted it already.
    const from = { 'cf-connecting-ip': `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:77::1` };
    for (let i = 0; i < 20; i++)
      expect((await json('/api/v1/cli/device-codes', { body: { client_name: 'x' }, headers: from })).status).toBe(201);
    const limited = await json<Err>('/api/v1/cli/device-codes', { body: { client_name: 'x' }, headers: from });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    await start(); // from another address
    const renter = await registerUser();
    for (let i = 0; i < 30; i++)
      await json('/api/v1/cli/device-codes/approve', {
        token: renter.token,
        body: { user_code: 'AAAA-AAAA' },
        headers: from,
      });
    const guessing = await json<Err>('/api/v1/cli/device-codes/approve', {
      token: renter.token,
      body: { user_code: 'AAAA-AAAA' },
      headers: from,
    });
    expect(guessing.status).toBe(429);
  });

  it('validates every input; approval needs a signed-in user, and a cookie approval only from the console', async () => {
    for (const body of [{}, { client_name: '' }, { client_name: 'a b' }, { client_name: 'x'.repeat(65) }, { x: 1 }]) {
      const r = await json<Err>('/api/v1/cli/device-codes', { body });
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.error.code).toBe('validation_failed');
    }
    const codes = await start();
    expect((await json('/api/v1/cli/device-codes/approve', { body: { user_code: codes.user_code } })).status).toBe(401);
    const renter = await registerUser();
    for (const user_code of ['', 'ABCD', 'ABCD-EFG1', 'ABCD-EFGHJ']) {
      const r = await json<Err>('/api/v1/cli/device-codes/approve', { token: renter.token, body: { user_code } });
      expect(r.status, user_code).toBe(422);
    }
    expect((await poll('')).status).toBe(422);
    expect((await poll('rgd_nothing')).body.error.code).toBe('invalid_grant');

    // A page on another origin cannot approve with the renter's cookie.
    const login = await call('/api/v1/auth/login', {
      body: { email: renter.email, password: 'correct horse battery' },
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const forged = await json<Err>('/api/v1/cli/device-codes/approve', {
      body: { user_code: codes.user_code },
      headers: { cookie, origin: 'http://evil.test' },
    });
    expect(forged.status).toBe(403);
    expect((await poll(codes.device_code)).status).toBe(428);
    const console = await json('/api/v1/cli/device-codes/approve', {
      body: { user_code: codes.user_code },
      headers: { cookie, origin: ORIGIN },
    });
    expect(console.status).toBe(200);
    expect((await poll(codes.device_code)).status).toBe(200);
  });
});
