// Signed app tokens: a token verifies only with its secret, its kind, before its expiry and untampered.
import { describe, expect, it } from 'vitest';
import { signAppToken, verifyAppToken, type AppClaims } from './tokens.ts';

const secret = 'unit-secret-0123456789abcdef0123456789';
const claims: AppClaims = {
  k: 'link',
  e: 'abcdefghij012345',
  p: 8888,
  u: 'usr_1',
  c: 'sess_1',
  v: 'session',
  x: 2_000,
  n: 'nonce',
};

describe('app tokens', () => {
  it('round-trips its claims', async () => {
    expect(await verifyAppToken(secret, await signAppToken(secret, claims), 'link', 1_000)).toEqual(claims);
  });

  it('refuses another secret, another kind, an expired token and any change', async () => {
    const t = await signAppToken(secret, claims);
    expect(await verifyAppToken(`${secret}x`, t, 'link', 1_000)).toBeNull();
    expect(await verifyAppToken(secret, t, 'app', 1_000)).toBeNull();
    expect(await verifyAppToken(secret, t, 'link', 2_001)).toBeNull();
    const [body, sig] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, e: 'zzzzzzzzzzzzzzzz' })).toString('base64url');
    expect(await verifyAppToken(secret, `${forged}.${sig}`, 'link', 1_000)).toBeNull();
    expect(await verifyAppToken(secret, `${body}.${sig!.slice(1)}`, 'link', 1_000)).toBeNull();
    for (const junk of ['', '.', 'a.b', 'x'.repeat(3000), `${body}`])
      expect(await verifyAppToken(secret, junk, 'link', 1_000)).toBeNull();
  });
});
