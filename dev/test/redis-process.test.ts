// Checks spawning and stopping a private redis-server, and the typed error when the binary is missing.
import { describe, expect, it } from 'vitest';
import { RedisServerMissing, spawnRedis } from '../src/redis-process.ts';

describe('spawnRedis', () => {
  it('starts on a free port, answers, and stops', async () => {
    const [a, b] = await Promise.all([spawnRedis(), spawnRedis()]);
    try {
      expect(a.port).not.toBe(b.port);
      expect(a.url).toBe(`redis://127.0.0.1:${a.port}`);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    await a.stop();
  });

  it('throws RedisServerMissing when the binary is absent', async () => {
    await expect(spawnRedis({ binary: 'redis-server-that-does-not-exist' })).rejects.toBeInstanceOf(RedisServerMissing);
  });
});
