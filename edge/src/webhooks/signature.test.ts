// The signature recipe from the README, checked with node:crypto exactly as a receiver would.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signatureHeader, verifySignature } from './signature.ts';

describe('webhook signatures', () => {
  it('verifies with the documented recipe and refuses tampering, other secrets and stale timestamps', async () => {
    const body = '{"event":"balance.low","data":{"balance":5}}';
    const at = 1_780_000_000_000;
    const header = await signatureHeader('whsec_test', body, at);
    // README recipe: split t and v1; HMAC-SHA256(secret, `${t}.${rawBody}`) in hex equals v1; |now - t| <= 300 s.
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header)!;
    expect(createHmac('sha256', 'whsec_test').update(`${t}.${body}`).digest('hex')).toBe(v1);
    expect(await verifySignature('whsec_test', header, body, at + 10_000)).toBe(true);
    expect(await verifySignature('whsec_test', header, `${body} `, at)).toBe(false);
    expect(await verifySignature('whsec_other', header, body, at)).toBe(false);
    expect(await verifySignature('whsec_test', header, body, at + 301_000)).toBe(false);
    expect(await verifySignature('whsec_test', null, body, at)).toBe(false);
  });
});
