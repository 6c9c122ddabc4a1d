// The relay's SSH identities: host keys (ed25519 + RSA) and the platform key it uses towards targets. Generated once.
import ssh2 from 'ssh2';
import type { KeyValueStore } from '../contracts.ts';

export interface RelayKeys {
  /** Host keys the SSH gateway presents to renters (OpenSSH private key format). */
  hostKeys: string[];
  /** The relay's own key for upstream sshd logins (targets authorize its public half). */
  platformPrivateKey: string;
  /** `ssh-ed25519 AAAA... remotegpu-relay` line for authorized_keys. */
  platformPublicKey: string;
}

async function loadOrCreate(store: KeyValueStore, name: string, make: () => { private: string; public: string }) {
  const priv = await store.get(`${name}.private`);
  const pub = await store.get(`${name}.public`);
  if (priv && pub) return { private: priv, public: pub };
  const pair = make();
  await store.set(`${name}.private`, pair.private);
  await store.set(`${name}.public`, pair.public);
  return pair;
}

export async function loadOrCreateKeys(store: KeyValueStore): Promise<RelayKeys> {
  const ed = await loadOrCreate(store, 'host_ed25519', () => ssh2.utils.generateKeyPairSync('ed25519'));
  const rsa = await loadOrCreate(store, 'host_rsa', () => ssh2.utils.generateKeyPairSync('rsa', { bits: 3072 }));
  const platform = await loadOrCreate(store, 'platform_ed25519', () =>
    ssh2.utils.generateKeyPairSync('ed25519', { comment: 'remotegpu-relay' }));
  return {
    hostKeys: [ed.private, rsa.private],
    platformPrivateKey: platform.private,
    platformPublicKey: platform.public.trim(),
  };
}
