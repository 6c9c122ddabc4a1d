// Password verification against the shared scrypt format, constant time, with a dummy run for unknown targets.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { ENV_SCRYPT, parseScryptHash } from '@remotegpu/schema';

function scryptAsync(
  password: string,
  salt: Uint8Array,
  keylen: number,
  N: number,
  r: number,
  p: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: scrypt needs 128*N*r bytes; leave headroom for the largest parameters parseScryptHash allows.
    scrypt(password, salt, keylen, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

const DUMMY_SALT = randomBytes(16);

/**
 * True when `password` matches `stored`. With `stored` null (unknown environment) or malformed, a scrypt
 * with the environment parameters still runs so that the answer takes as long as a real miss.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parsed = stored ? parseScryptHash(stored) : null;
  if (!parsed) {
    await scryptAsync(password, DUMMY_SALT, ENV_SCRYPT.keylen, ENV_SCRYPT.N, ENV_SCRYPT.r, ENV_SCRYPT.p);
    return false;
  }
  const key = await scryptAsync(password, parsed.salt, parsed.keylen, parsed.N, parsed.r, parsed.p);
  return password.length > 0 && timingSafeEqual(key, Buffer.from(parsed.hash));
}
