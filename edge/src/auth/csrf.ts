// Cross-site request forgery guard for browser (cookie) requests that change anything on /api.
//
// App hosts (`<envid>-<port>.<apps domain>`) serve renters' own code. When they share a registrable domain
// with the console they are *same-site* with it, so `SameSite=Lax` does not keep the console's session
// cookie off a form POST or a `no-cors` fetch sent from such a page. Browsers only let a cross-origin page
// send "simple" bodies (text/plain, urlencoded, multipart) without a CORS preflight, and they always send
// `Origin` on non-GET requests, so: a write without a bearer token must be JSON and must come from the
// console's own origin. Bearer-token clients (the CLI, scripts, relays) carry no ambient credential and
// are not affected.
//
// One narrow exception: a file upload's body is the file itself, never JSON. It is accepted with any media type
// when it carries `X-RemoteGPU-Upload: 1`: a page on another origin (app hosts included) cannot add a custom
// header without a CORS preflight, which this edge never approves, so no form or `no-cors` fetch can carry it.
// The Origin check below still applies to it.
import type { Context, Next } from 'hono';
import { readConfig } from '../config.ts';
import type { Bindings } from '../env.ts';
import { ApiError } from '../errors.ts';

/** Methods that never change anything (RFC 9110 §9.2.1); everything else is a write. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The console's upload header (see above): only a same-origin script can send it. */
const UPLOAD_HEADER = 'x-remotegpu-upload';

/** `application/json` or any `+json` media type, with parameters (charset) allowed. */
export function isJsonMediaType(contentType: string | null | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

export interface CsrfInput {
  method: string;
  /** The request's own URL (its origin is the console's as the browser saw it: app hosts never reach /api). */
  url: string;
  headers: Headers;
  /** REMOTEGPU_PUBLIC_URL, when the operator set one. */
  publicUrl: string | null;
}

/**
 * Decides whether a request may go on. Returns null to allow it, or the ApiError to answer with:
 * 415 `unsupported_media_type` for a browser write whose body is not JSON, 403 `cross_origin_request`
 * for one from another origin (or, carrying cookies, from an unknown origin).
 */
export function csrfVerdict({ method, url, headers, publicUrl }: CsrfInput): ApiError | null {
  if (SAFE_METHODS.has(method.toUpperCase())) return null;
  if (/^Bearer\s+\S+$/i.test(headers.get('authorization') ?? '')) return null;
  const hasBody =
    (headers.get('content-length') ?? '0') !== '0' || headers.has('transfer-encoding') || headers.has('content-type');
  const upload = method.toUpperCase() === 'PUT' && headers.get(UPLOAD_HEADER) === '1';
  if (hasBody && !upload && !isJsonMediaType(headers.get('content-type'))) {
    return new ApiError(415, 'unsupported_media_type', 'request bodies must be application/json');
  }
  const allowed = new Set([new URL(url).origin]);
  if (publicUrl) allowed.add(new URL(publicUrl).origin);
  const origin = headers.get('origin');
  if (origin !== null) {
    return allowed.has(origin)
      ? null
      : new ApiError(403, 'cross_origin_request', `requests from ${origin.slice(0, 200)} may not change anything here`);
  }
  const site = headers.get('sec-fetch-site');
  if (site !== null) {
    return site === 'same-origin'
      ? null
      : new ApiError(403, 'cross_origin_request', 'cross-site requests may not change anything here');
  }
  // No Origin and no fetch metadata: not a browser's cross-site request. With a cookie, insist anyway: an old
  // or odd client that hides both could be one, and the console's own requests always carry Origin.
  if (headers.has('cookie'))
    return new ApiError(403, 'cross_origin_request', 'cookie-authenticated writes need an Origin header');
  return null;
}

/** Hono middleware for /api/*: answers the verdict's error, else goes on. */
export async function csrfGuard(c: Context<{ Bindings: Bindings }>, next: Next): Promise<Response | void> {
  const publicUrl = readConfig(c.env).publicUrl;
  const verdict = csrfVerdict({ method: c.req.method, url: c.req.url, headers: c.req.raw.headers, publicUrl });
  if (verdict) throw verdict;
  await next();
}
