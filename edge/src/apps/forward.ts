// Turns a browser's request into the tunnel's OpenHead (hop-by-hop dropped, platform cookies stripped, X-Forwarded-* set) and hands it to the shard.
import { HOP_BY_HOP_HEADERS, connectionNamed, dataShardName, shardOf, type OpenHead } from '@remotegpu/schema';
import { SECURE_SESSION_COOKIE, SESSION_COOKIE } from '../auth/service.ts';
import type { Bindings } from '../env.ts';
import { openRequestHeaders } from '../tunnel/shard-request.ts';
import { appError } from './pages.ts';
import type { AppTarget } from './app-target.ts';
import { APP_COOKIE } from './tokens.ts';

/** Hop-by-hop fields, plus proxy credentials and the WebSocket handshake fields the agent's own client makes anew. */
const HOP_BY_HOP = new Set([
  ...HOP_BY_HOP_HEADERS,
  'proxy-authorization',
  'proxy-authenticate',
  'http2-settings',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-accept',
  // The edge has already taken the client's body; a 100-continue from the app would have no one to go to.
  'expect',
]);
/** Set by us from what we know; a client's own values would be lies. */
const REPLACED = new Set(['x-forwarded-proto', 'x-forwarded-host', 'x-real-ip']);
const PLATFORM_COOKIES = new Set([APP_COOKIE, SESSION_COOKIE, SECURE_SESSION_COOKIE]);

function stripPlatformCookies(value: string): string {
  return value
    .split(';')
    .map((s) => s.trim())
    .filter((pair) => {
      const eq = pair.indexOf('=');
      return pair !== '' && !PLATFORM_COOKIES.has((eq < 0 ? pair : pair.slice(0, eq)).trim());
    })
    .join('; ');
}

export function buildOpenHead(request: Request, envId: string, port: number, clientIp: string): OpenHead {
  const url = new URL(request.url);
  const host = request.headers.get('host') ?? url.host;
  const websocket = request.headers.get('upgrade')?.toLowerCase() === 'websocket';
  const named = connectionNamed(request.headers.get('connection'));
  const headers: [string, string][] = [];
  let forwardedFor: string | null = null;
  for (const [name, value] of request.headers) {
    if (
      HOP_BY_HOP.has(name) ||
      named.has(name) ||
      REPLACED.has(name) ||
      name.startsWith('cf-') ||
      name.startsWith('x-remotegpu-')
    )
      continue;
    if (name === 'x-forwarded-for') {
      forwardedFor = value;
      continue;
    }
    if (name === 'cookie') {
      const kept = stripPlatformCookies(value);
      if (kept) headers.push([name, kept]);
      continue;
    }
    headers.push([name, value]);
  }
  if (!request.headers.has('host')) headers.push(['host', host]);
  headers.push(
    ['x-forwarded-for', forwardedFor ? `${forwardedFor}, ${clientIp}` : clientIp],
    ['x-forwarded-proto', url.protocol.replace(':', '')],
    ['x-forwarded-host', host],
    ['x-real-ip', clientIp],
  );
  const method = request.method.toUpperCase();
  return {
    environment_id: envId,
    port,
    method,
    path: `${url.pathname}${url.search}`,
    headers,
    websocket,
    has_body: request.body !== null && method !== 'GET' && method !== 'HEAD',
  };
}

// Ids are plain values (stubs are per request): deriving one hashes its name, so the isolate keeps them.
const shardIds = new Map<string, DurableObjectId>();
function shardId(ns: Bindings['DATA_SHARD'], name: string): DurableObjectId {
  let id = shardIds.get(name);
  if (!id) {
    if (shardIds.size > 10_000) shardIds.clear();
    id = ns.idFromName(name);
    shardIds.set(name, id);
  }
  return id;
}

/** Sends the request through the environment's data shard; the shard streams the answer back. */
export async function forwardToShard(
  request: Request,
  env: Bindings,
  route: AppTarget,
  open: OpenHead,
  firstByteMs: number,
  onError: (status: number, code: string, message: string) => Response = (status, code, message) =>
    appError(request, status, code, message),
): Promise<Response> {
  const ns = env.DATA_SHARD;
  const stub = ns.get(shardId(ns, dataShardName(route.hostId, shardOf(route.envId, route.shards))));
  const res = await stub.fetch('https://data.tunnel/open', {
    method: open.has_body ? 'POST' : 'GET',
    headers: openRequestHeaders(open, firstByteMs),
    body: open.has_body ? request.body : null,
  });
  const code = res.headers.get('x-remotegpu-error');
  if (code) {
    const body = await res.json<{ error?: { message?: string } }>().catch(() => null);
    return onError(res.status, code, body?.error?.message ?? code);
  }
  return res;
}
