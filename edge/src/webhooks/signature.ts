// Stripe-style signatures: header `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (webhooks, payment hook).
const enc = new TextEncoder();

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  const sig = new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(message)));
  return Array.from(sig, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The header value for `body` signed at `atMs`. */
export async function signatureHeader(secret: string, body: string, atMs: number): Promise<string> {
  const t = Math.floor(atMs / 1000);
  return `t=${t},v1=${await hmacHex(secret, `${t}.${body}`)}`;
}

/** Constant-time comparison of two hex strings. */
function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

/** True when `header` signs `body` with `secret` and its timestamp is within `toleranceS` of `nowMs`. */
export async function verifySignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  nowMs: number,
  toleranceS = 300,
): Promise<boolean> {
  if (!header || header.length > 1024) return false;
  const parts = new Map<string, string[]>();
  for (const kv of header.split(',')) {
    const i = kv.indexOf('=');
    if (i <= 0) continue;
    const k = kv.slice(0, i).trim();
    parts.set(k, [...(parts.get(k) ?? []), kv.slice(i + 1).trim()]);
  }
  const t = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(t) || Math.abs(nowMs / 1000 - t) > toleranceS) return false;
  const want = await hmacHex(secret, `${t}.${body}`);
  return (parts.get('v1') ?? []).some((v) => sameHex(v.toLowerCase(), want));
}
