// Brute-force counting keys: one per IPv4 address, one per IPv6 /64, IPv4-mapped addresses as IPv4.
import { describe, expect, it } from 'vitest';
import { addressBucket } from './address-bucket.ts';

describe('addressBucket', () => {
  it('keeps IPv4 addresses as they are', () => {
    expect(addressBucket('127.0.0.66')).toBe('127.0.0.66');
    expect(addressBucket(' 203.0.113.7 ')).toBe('203.0.113.7');
  });

  it('groups IPv6 addresses by /64, however they are written', () => {
    const a = addressBucket('2001:db8:1:2:aaaa::1');
    expect(a).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff')).toBe(a);
    expect(addressBucket('2001:db8:1:2::7%eth0')).toBe(a);
    expect(addressBucket('2001:db8:1:3::1')).not.toBe(a);
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('fe80::1:2:3:4')).toBe('fe80:0:0:0::/64');
  });

  it('treats IPv4-mapped IPv6 as the IPv4 address (what Node reports on dual-stack sockets)', () => {
    expect(addressBucket('::ffff:127.0.0.77')).toBe('127.0.0.77');
    expect(addressBucket('::ffff:7f00:4d')).toBe('127.0.0.77');
  });

  it('keeps anything unparsable as a bounded key of its own', () => {
    expect(addressBucket('not-an-ip')).toBe('not-an-ip');
    expect(addressBucket('1:2:3')).toBe('1:2:3');
    expect(addressBucket('1::2::3')).toBe('1::2::3');
    expect(addressBucket('x'.repeat(500))).toHaveLength(64);
  });
});
