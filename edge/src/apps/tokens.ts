// Signed app tokens: the short-lived link the console hands out, and the host-only cookie it becomes on the app host.
import { ENV_ID_PATTERN } from '@remotegpu/schema';
import { z } from 'zod';

/** The cookie on `<envid>-<port>.container.<domain>` (host-only: it never reaches another app or the console). */
export const APP_COOKIE = 'rg_app';
/** The query parameter carrying a link token; the Worker strips it with a redirect. */
export const LINK_PARAM = '__rg_token';
export const LINK_TTL_MS = 60_000;
export const APP_COOKIE_TTL_MS = 12 * 3600_000;

const Claims = z.object({
  /** 'link' (one use, in a URL) or 'app' (the cookie). */
  k: z.enum(['link', 'app']),
  e: z.string().regex(ENV_ID_PATTERN),
  p: z.number().int().min(1).max(65535),
  /** The owner's user id and the credential (session or API token hash) the grant hangs on: revoking it revokes the app access. */
  u: z.string().max(128),
  c: z.string().max(128),
  v: z.enum(['session', 'token']),
  x: z.number().int(),
  /** Nonce of a link token (single use). */
  n: z.string().max(64).optional(),
});
export type AppClaims = z.infer<typeof Claims>;

const enc = new TextEncoder();
const b64url = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
function unb64url(s: string): Uint8Array | null {
  try {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

// One HMAC key per isolate and secret: importing it costs more than verifying.
const keys = new Map<string, Promise<CryptoKey>>();
function key(secret: string): Promise<CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    k = crypto.subtle.importKey(
      'raw',
      enc.encode(`remotegpu:app-token:${secret}`),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    keys.set(secret, k);
  }
  return k;
}

export async function signAppToken(secret: string, claims: AppClaims): Promise<string> {
  const body = b64url(enc.encode(JSON.stringify(claims)));
  const sig = new Uint8Array(await crypto.subtle.sign('HMAC', await key(secret), enc.encode(body)));
  return `${body}.${b64url(sig)}`;
}

/** The claims of a valid, unexpired token of the expected kind; null for anything else. */
export async function verifyAppToken(
  secret: string,
  token: string,
  kind: AppClaims['k'],
  now = Date.now(),
): Promise<AppClaims | null> {
  if (token.length > 2048) return null;
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  const body = token.slice(0, dot);
  const sig = unb64url(token.slice(dot + 1));
  if (!sig) return null;
  if (!(await crypto.subtle.verify('HMAC', await key(secret), sig, enc.encode(body)))) return null;
  const raw = unb64url(body);
  if (!raw) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(raw));
  } catch {
    return null;
  }
  const claims = Claims.safeParse(parsed);
  if (!claims.success || claims.data.k !== kind || claims.data.x < now) return null;
  return claims.data;
}
