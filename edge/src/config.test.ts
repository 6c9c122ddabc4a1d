// Edge config parsing: the apps domain and the console's public URL are validated at start.
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from './config.ts';
import type { Bindings } from './env.ts';

const base = {
  LIBSQL_URL: 'http://127.0.0.1:1',
  UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:2',
  UPSTASH_REDIS_REST_TOKEN: 't',
  REMOTEGPU_SECRET_KEY: 'k'.repeat(32),
} as unknown as Bindings;

describe('readConfig', () => {
  it('puts apps under container.<domain> unless the operator gives them a domain of their own', () => {
    expect(readConfig({ ...base, REMOTEGPU_DOMAIN: 'Gpu.Example.com' }).appsDomain).toBe('container.gpu.example.com');
    expect(
      readConfig({ ...base, REMOTEGPU_DOMAIN: 'gpu.example.com', REMOTEGPU_APPS_DOMAIN: 'gpu-apps.net' }).appsDomain,
    ).toBe('gpu-apps.net');
  });

  it('places by pack unless REMOTEGPU_PLACEMENT_POLICY says spread', () => {
    expect(readConfig(base).placementPolicy).toBe('pack');
    expect(readConfig({ ...base, REMOTEGPU_PLACEMENT_POLICY: 'Spread' }).placementPolicy).toBe('spread');
  });

  it.each([
    ['REMOTEGPU_PLACEMENT_POLICY', 'random'],
    ['REMOTEGPU_APPS_DOMAIN', 'gpu apps.net'],
    ['REMOTEGPU_APPS_DOMAIN', '.gpu-apps.net'],
    ['REMOTEGPU_DOMAIN', 'example.com/'],
    ['REMOTEGPU_PUBLIC_URL', 'gpu.example.com'],
    ['REMOTEGPU_PUBLIC_URL', 'https://gpu.example.com/console'],
  ])('refuses %s=%s with a readable error', (name, value) => {
    expect(() => readConfig({ ...base, [name]: value })).toThrow(ConfigError);
  });

  it('manages the SSH names in Cloudflare DNS only with an SSH domain and both secrets', () => {
    const dns = {
      REMOTEGPU_SSH_DOMAIN: 'GPU.example.com',
      REMOTEGPU_CF_ZONE_ID: '023e105f4ecef8ad9ca31a8372d0c353',
      REMOTEGPU_CF_API_TOKEN: 'token-with-zone-dns-edit',
    };
    expect(readConfig({ ...base, ...dns })).toMatchObject({
      sshDomain: 'gpu.example.com',
      sshDns: { zoneId: dns.REMOTEGPU_CF_ZONE_ID, apiToken: dns.REMOTEGPU_CF_API_TOKEN, apiBase: null },
    });
    expect(
      readConfig({ ...base, ...dns, REMOTEGPU_CF_API_BASE: 'http://127.0.0.1:9/client/v4/' }).sshDns?.apiBase,
    ).toBe('http://127.0.0.1:9/client/v4');
    // A domain without the secrets: names are handed out, their DNS is the operator's (e.g. one relay's wildcard).
    expect(readConfig({ ...base, REMOTEGPU_SSH_DOMAIN: 'gpu.example.com' })).toMatchObject({
      sshDomain: 'gpu.example.com',
      sshDns: null,
    });
    expect(readConfig(base)).toMatchObject({ sshDomain: null, sshDns: null });
    for (const bad of [
      { ...dns, REMOTEGPU_CF_API_TOKEN: '' },
      { ...dns, REMOTEGPU_CF_ZONE_ID: undefined },
      { ...dns, REMOTEGPU_SSH_DOMAIN: undefined },
      { ...dns, REMOTEGPU_SSH_DOMAIN: 'ssh domain.com' },
      { ...dns, REMOTEGPU_CF_ZONE_ID: 'zone/../x' },
      { ...dns, REMOTEGPU_CF_API_BASE: 'api.cloudflare.com' },
    ])
      expect(() => readConfig({ ...base, ...bad })).toThrow(ConfigError);
  });
});
