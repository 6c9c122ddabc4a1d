import ssh2 from 'ssh2';
import { describe, expect, it, vi } from 'vitest';
import { generateUsableKeyPair, loadOrCreateKeys } from './keys.ts';

const memoryStore = (init: Record<string, string> = {}) => {
  const m = new Map(Object.entries(init));
  return {
    m,
    get: async (k: string) => m.get(k) ?? null,
    set: async (k: string, v: string) => {
      m.set(k, v);
    },
  };
};

describe('relay keys', () => {
  it('every generated key parses (ssh2 sometimes writes ed25519 keys its parser rejects)', () => {
    for (let i = 0; i < 600; i++) {
      const pair = generateUsableKeyPair('ed25519');
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
    }
  });

  it('skips a malformed key the generator returns', () => {
    const good = ssh2.utils.generateKeyPairSync('ed25519');
    const spy = vi
      .spyOn(ssh2.utils, 'generateKeyPairSync')
      .mockReturnValueOnce({
        private: '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
        public: good.public,
      })
      .mockReturnValueOnce(good);
    try {
      expect(generateUsableKeyPair('ed25519')).toBe(good);
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('keeps good keys across restarts and replaces a stored key that does not parse', async () => {
    const store = memoryStore();
    const a = await loadOrCreateKeys(store);
    const b = await loadOrCreateKeys(store);
    expect(b).toEqual(a);
    store.m.set('host_ed25519.private', 'garbage');
    const c = await loadOrCreateKeys(store);
    expect(c.hostKeys[0]).not.toBe('garbage');
    expect(ssh2.utils.parseKey(c.hostKeys[0]!)).not.toBeInstanceOf(Error);
    expect(c.platformPublicKey).toBe(a.platformPublicKey);
  });
});
