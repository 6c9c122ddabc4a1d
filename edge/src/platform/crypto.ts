// Crypto primitives for the edge: scrypt (node:crypto in workerd), SHA-256 and AES-GCM (WebCrypto).
import { scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { ENV_SCRYPT, USER_SCRYPT, formatScryptHash, parseScryptHash, type ScryptParams } from '@remotegpu/schema';

function scrypt(password: string, salt: Uint8Array, p: ScryptParams): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, p.keylen, { N: p.N, r: p.r, p: p.p, maxmem: 128 * p.N * p.r * 2 }, (err, key) =>
      err ? reject(err) : resolve(new Uint8Array(key)),
    );
  });
}

export async function hashPassword(password: string, kind: 'user' | 'env' = 'user'): Promise<string> {
  const params = kind === 'user' ? USER_SCRYPT : ENV_SCRYPT;
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return formatScryptHash(params, salt, await scrypt(password, salt, params));
}

// A fixed hash to verify against when the account does not exist, so timing reveals nothing.
const DUMMY = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parsed = parseScryptHash(stored ?? DUMMY) ?? parseScryptHash(DUMMY)!;
  const key = await scrypt(password, parsed.salt, parsed);
  return timingSafeEqual(key, parsed.hash) && stored !== null;
}

export async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const keyCache = new Map<string, Promise<CryptoKey>>();
function aesKey(secret: string, usage: string): Promise<CryptoKey> {
  const k = `${usage}:${secret}`;
  let p = keyCache.get(k);
  if (!p) {
    p = (async () => {
      const raw = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`remotegpu:${usage}:${secret}`));
      return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
    })();
    keyCache.set(k, p);
  }
  return p;
}

const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/** Encrypts a secret for its owner to read back later (environment passwords). */
export async function encryptSecret(secret: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv },
    await aesKey(secret, 'env-password'),
    new TextEncoder().encode(plaintext),
  );
  return `v1.${b64(iv)}.${b64(new Uint8Array(ct))}`;
}

export async function decryptSecret(secret: string, sealed: string): Promise<string> {
  const [v, iv, ct] = sealed.split('.');
  if (v !== 'v1' || !iv || !ct) throw new Error('unknown sealed secret format');
  const pt = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: unb64(iv) },
    await aesKey(secret, 'env-password'),
    unb64(ct),
  );
  return new TextDecoder().decode(pt);
}
