// Every key family builds keys its own pattern recognises, and no two families claim one key.
import { describe, expect, it } from 'vitest';
import { REDIS_KEY_FAMILIES, redisKeyFamily, redisKeys } from './redis-keys.ts';

const ENV = '6hiflzwte2xnkroq';
const samples: Record<keyof typeof redisKeys, string> = {
  ip: redisKeys.ip(ENV),
  sshPort: redisKeys.sshPort(ENV),
  type: redisKeys.type(ENV),
  accessInfo: redisKeys.accessInfo(ENV),
  host: redisKeys.host(ENV),
  publicPorts: redisKeys.publicPorts(ENV),
  metrics: redisKeys.metrics(ENV),
  progress: redisKeys.progress(ENV),
  dataShards: redisKeys.dataShards('hst_abc'),
  appLinkUsed: redisKeys.appLinkUsed('n0nce_-x'),
  loginRateBySource: redisKeys.loginRateBySource('2001:db8:1:2::/64'),
  loginRateBySourceEmail: redisKeys.loginRateBySourceEmail('0af9'),
  cliLoginRateBySource: redisKeys.cliLoginRateBySource('codes', '198.51.100.7'),
  routesBuilt: redisKeys.routesBuilt(),
};

describe('redis key families', () => {
  it('recognise exactly the keys their builders make', () => {
    for (const [name, key] of Object.entries(samples)) expect(redisKeyFamily(key), key).toBe(name);
    expect(Object.keys(samples).sort()).toEqual(Object.keys(REDIS_KEY_FAMILIES).sort());
  });

  it('claim nothing else', () => {
    for (const key of [
      'env:short:ip',
      `env:${ENV}:password`,
      'applink:',
      'routes:built:x',
      'session:abc',
      `x${redisKeys.ip(ENV)}`,
    ]) {
      expect(redisKeyFamily(key), key).toBeNull();
    }
  });
});
