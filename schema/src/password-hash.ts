// The scrypt hash format shared by the edge (which hashes) and relays (which verify): scrypt$N$r$p$salt$hash (base64).
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  keylen: number;
}

/** Account passwords: interactive-login strength. */
export const USER_SCRYPT: ScryptParams = { N: 16384, r: 8, p: 1, keylen: 32 };
/** Generated environment passwords carry ~190 bits of entropy: a light cost is enough, and relays verify often. */
export const ENV_SCRYPT: ScryptParams = { N: 1024, r: 8, p: 1, keylen: 32 };

export interface ParsedScryptHash extends ScryptParams {
  salt: Uint8Array;
  hash: Uint8Array;
}

function b64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
function unb64(text: string): Uint8Array | null {
  try {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

export function formatScryptHash(params: ScryptParams, salt: Uint8Array, hash: Uint8Array): string {
  return `scrypt$${params.N}$${params.r}$${params.p}$${b64(salt)}$${b64(hash)}`;
}

/** Parses a stored hash; null for anything malformed or with parameters outside sane bounds. */
export function parseScryptHash(stored: string): ParsedScryptHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (!Number.isInteger(N) || N < 2 || N > 1 << 20 || (N & (N - 1)) !== 0) return null;
  if (!Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return null;
  const salt = unb64(parts[4]!);
  const hash = unb64(parts[5]!);
  if (!salt || !hash || salt.length < 8 || hash.length < 16 || hash.length > 64) return null;
  return { N, r, p, keylen: hash.length, salt, hash };
}

/** Constant-time comparison of equal-length byte strings (false on length mismatch). */
export function timingSafeEqualBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
