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

type Pair = { private: string; public: string };

function usable(pair: Pair): boolean {
  return !(ssh2.utils.parseKey(pair.private) instanceof Error) && !(ssh2.utils.parseKey(pair.public) instanceof Error);
}

/**
 * ssh2's generator now and then writes an ed25519 key its own parser rejects ("Malformed OpenSSH
 * private key", ~0.6 % of keys here): a relay must never persist one, or its gateway cannot start.
 */
export function generateUsableKeyPair(type: 'ed25519' | 'rsa', opts: { bits?: number; comment?: string } = {}): Pair {
  for (let i = 0; i < 20; i++) {
    const pair =
      type === 'rsa'
        ? ssh2.utils.generateKeyPairSync('rsa', {
            bits: opts.bits ?? 3072,
            ...(opts.comment ? { comment: opts.comment } : {}),
          })
        : ssh2.utils.generateKeyPairSync('ed25519', opts.comment ? { comment: opts.comment } : {});
    if (usable(pair)) return pair;
  }
  throw new Error(`could not generate a usable ${type} key`);
}

async function loadOrCreate(store: KeyValueStore, name: string, make: () => Pair): Promise<Pair> {
  const priv = await store.get(`${name}.private`);
  const pub = await store.get(`${name}.public`);
  // A stored key that does not parse (written by an older agent) never worked: replace it.
  if (priv && pub && usable({ private: priv, public: pub })) return { private: priv, public: pub };
  const pair = make();
  await store.set(`${name}.private`, pair.private);
  await store.set(`${name}.public`, pair.public);
  return pair;
}

export async function loadOrCreateKeys(store: KeyValueStore): Promise<RelayKeys> {
  const ed = await loadOrCreate(store, 'host_ed25519', () => generateUsableKeyPair('ed25519'));
  const rsa = await loadOrCreate(store, 'host_rsa', () => generateUsableKeyPair('rsa', { bits: 3072 }));
  const platform = await loadOrCreate(store, 'platform_ed25519', () =>
    generateUsableKeyPair('ed25519', { comment: 'remotegpu-relay' }),
  );
  return {
    hostKeys: [ed.private, rsa.private],
    platformPrivateKey: platform.private,
    platformPublicKey: platform.public.trim(),
  };
}
