// Cloudflare DNS stand-in: the DNS records API subset the `cloudflare` client uses (same URLs and JSON envelopes),
// over in-memory records that dns-answers.ts also serves to real resolvers (dig) on a loopback port.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { startDnsAnswers, type DnsAnswers } from './dns-answers.ts';
import { readBody, sendJson, serveJson } from './http-json.ts';

/** A record as Cloudflare's API returns it (the fields this stand-in keeps). */
export interface CfRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  name: string;
  type: RecordType;
  content: string;
  ttl: number;
  proxied: boolean;
  proxiable: boolean;
  comment: string | null;
  tags: string[];
  created_on: string;
  modified_on: string;
  meta: Record<string, never>;
  settings: Record<string, never>;
}

const TYPES = ['A', 'AAAA', 'CNAME', 'TXT'] as const;
type RecordType = (typeof TYPES)[number];

export interface CloudflareDnsOptions {
  /** The zone's name, e.g. `example.test`: records must be inside it. */
  zoneName: string;
  zoneId?: string;
  /** The API token the stand-in accepts (`Authorization: Bearer <token>`); random when omitted. */
  token?: string;
  host?: string;
  /** The API's port (0 = any free one). */
  apiPort?: number;
  /** The DNS port, UDP and TCP (0 = any port free for both). */
  dnsPort?: number;
}

export interface CloudflareDns {
  /** The base URL the client takes (`baseURL` / REMOTEGPU_CF_API_BASE): `http://host:port/client/v4`. */
  apiBase: string;
  zoneId: string;
  zoneName: string;
  token: string;
  /** Where dig asks: `dig @<host> -p <port> <name>`, UDP and TCP. */
  dnsHost: string;
  dnsPort: number;
  /** While on, every API call answers 503 (a Cloudflare API outage); DNS answers go on. */
  setOutage(on: boolean): void;
  close(): Promise<void>;
}

class CfError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Cloudflare's envelope: `{success, errors, messages, result}` (+ `result_info` on lists). */
const envelope = (result: unknown, extra: Record<string, unknown> = {}) => ({
  success: true,
  errors: [],
  messages: [],
  result,
  ...extra,
});

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

class RecordStore {
  readonly records = new Map<string, CfRecord>();

  constructor(
    readonly zoneId: string,
    readonly zoneName: string,
  ) {}

  /** Cloudflare takes `@`, a name relative to the zone, or a full name; it stores full names in lower case. */
  fullName(name: string): string {
    const n = name.toLowerCase().replace(/\.$/, '');
    if (n === '@' || n === this.zoneName) return this.zoneName;
    return n.endsWith(`.${this.zoneName}`) ? n : `${n}.${this.zoneName}`;
  }

  /** Checks a whole record (create, PUT, or PATCH after merging); returns it normalised. */
  validate(input: Record<string, unknown>, id: string, createdOn?: string): CfRecord {
    const { name, type, content } = input;
    if (typeof name !== 'string' || !name) throw new CfError(400, 9005, 'DNS record name is required.');
    if (typeof type !== 'string' || !(TYPES as readonly string[]).includes(type))
      throw new CfError(400, 9004, `This stand-in supports record types ${TYPES.join(', ')}.`);
    if (typeof content !== 'string' || !content) throw new CfError(400, 9006, 'Content is required.');
    const full = this.fullName(name);
    if (!HOST_NAME.test(full)) throw new CfError(400, 9005, `Invalid DNS record name: ${name}.`);
    if (type === 'A' && !isIPv4(content))
      throw new CfError(400, 9005, 'Content for A record must be a valid IPv4 address.');
    if (type === 'AAAA' && !isIPv6(content))
      throw new CfError(400, 9005, 'Content for AAAA record must be a valid IPv6 address.');
    if (type === 'CNAME' && !HOST_NAME.test(content.toLowerCase().replace(/\.$/, '')))
      throw new CfError(400, 9007, 'Content for CNAME record is invalid.');
    const ttl = input.ttl ?? 1;
    if (typeof ttl !== 'number' || !(ttl === 1 || (Number.isInteger(ttl) && ttl >= 60 && ttl <= 86400)))
      throw new CfError(400, 9021, 'Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.');
    const comment = input.comment ?? null;
    if (comment !== null && (typeof comment !== 'string' || comment.length > 100))
      throw new CfError(400, 9101, 'Comment must be a string of at most 100 characters.');
    const proxied = input.proxied ?? false;
    if (typeof proxied !== 'boolean') throw new CfError(400, 9003, 'proxied must be a boolean.');
    const now = new Date().toISOString();
    return {
      id,
      zone_id: this.zoneId,
      zone_name: this.zoneName,
      name: full,
      type: type as RecordType,
      content: type === 'CNAME' ? content.toLowerCase().replace(/\.$/, '') : content,
      ttl,
      proxied,
      proxiable: type !== 'TXT',
      comment: comment === '' ? null : comment,
      tags: [],
      created_on: createdOn ?? now,
      modified_on: now,
      meta: {},
      settings: {},
    };
  }

  /** Cloudflare's rules: a CNAME stands alone at its name; no two identical records. */
  checkConflicts(r: CfRecord): void {
    for (const o of this.records.values()) {
      if (o.id === r.id || o.name !== r.name) continue;
      if (o.type === r.type && o.content === r.content)
        throw new CfError(400, 81058, 'An identical record already exists.');
      if (o.type === 'CNAME' || r.type === 'CNAME')
        throw new CfError(400, 81053, 'An A, AAAA, or CNAME record with that host already exists.');
    }
  }

  put(r: CfRecord): CfRecord {
    this.checkConflicts(r);
    this.records.set(r.id, r);
    return r;
  }

  get(id: string): CfRecord {
    const r = this.records.get(id);
    if (!r) throw new CfError(404, 81044, 'Record does not exist.');
    return r;
  }

  /** The records `<name>` answers to a resolver (any type; the resolver side filters). */
  byName(name: string): CfRecord[] {
    const n = name.toLowerCase().replace(/\.$/, '');
    return [...this.records.values()].filter((r) => r.name === n);
  }
}

/** `field`, `field.exact`, `.contains`, `.startswith`, `.endswith`, `.present`, `.absent`, as Cloudflare's list takes them. */
function textFilters(q: URLSearchParams, field: 'name' | 'content' | 'comment', lower: boolean) {
  const norm = (v: string) => (lower ? v.toLowerCase() : v);
  const tests: ((r: CfRecord) => boolean)[] = [];
  const value = (r: CfRecord) => norm(r[field] ?? '');
  const exact = q.get(`${field}.exact`) ?? q.get(field);
  if (exact !== null) tests.push((r) => value(r) === norm(exact));
  const contains = q.get(`${field}.contains`);
  if (contains !== null) tests.push((r) => value(r).includes(norm(contains)));
  const starts = q.get(`${field}.startswith`);
  if (starts !== null) tests.push((r) => value(r).startsWith(norm(starts)));
  const ends = q.get(`${field}.endswith`);
  if (ends !== null) tests.push((r) => value(r).endsWith(norm(ends)));
  if (q.has(`${field}.present`)) tests.push((r) => Boolean(r[field]));
  if (q.has(`${field}.absent`)) tests.push((r) => !r[field]);
  return tests;
}

function positiveInt(q: URLSearchParams, key: string, fallback: number, max: number): number {
  const raw = q.get(key);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new CfError(400, 1004, `${key} must be an integer 1-${max}.`);
  return n;
}

/** GET .../dns_records: filters (match=all|any), stable order by name then type, pages of `per_page`. */
function list(store: RecordStore, q: URLSearchParams) {
  const tests = [
    ...textFilters(q, 'name', true),
    ...textFilters(q, 'content', false),
    ...textFilters(q, 'comment', false),
  ];
  const type = q.get('type');
  if (type !== null) tests.push((r) => r.type === type);
  const any = q.get('match') === 'any';
  const matched = [...store.records.values()]
    .filter((r) => (tests.length === 0 ? true : any ? tests.some((t) => t(r)) : tests.every((t) => t(r))))
    .sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type) || a.id.localeCompare(b.id));
  const page = positiveInt(q, 'page', 1, 1_000_000);
  const perPage = positiveInt(q, 'per_page', 100, 5_000_000);
  const result = matched.slice((page - 1) * perPage, page * perPage);
  return envelope(result, {
    result_info: {
      page,
      per_page: perPage,
      count: result.length,
      total_count: matched.length,
      total_pages: Math.ceil(matched.length / perPage),
    },
  });
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  try {
    const v: unknown = JSON.parse(await readBody(req));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new CfError(400, 9207, 'Request body is invalid: a JSON object is required.');
}

function route(store: RecordStore, token: string, outage: () => boolean) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      if (outage()) throw new CfError(503, 10013, 'Service unavailable (the stand-in is in an outage).');
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const m = url.pathname.match(/^\/client\/v4\/zones\/([^/]+)\/dns_records(?:\/([^/]+))?\/?$/);
      if (!m) throw new CfError(404, 7000, 'No route for that URI');
      if (req.headers.authorization !== `Bearer ${token}`) throw new CfError(403, 10000, 'Authentication error');
      if (m[1] !== store.zoneId)
        throw new CfError(404, 7003, `Could not route to ${url.pathname}, perhaps your object identifier is invalid?`);
      const id = m[2];
      const method = req.method ?? 'GET';
      if (!id && method === 'GET') return sendJson(res, 200, list(store, url.searchParams));
      if (!id && method === 'POST') {
        const r = store.put(store.validate(await jsonBody(req), randomBytes(16).toString('hex')));
        return sendJson(res, 200, envelope(r));
      }
      if (id && method === 'GET') return sendJson(res, 200, envelope(store.get(id)));
      if (id && (method === 'PUT' || method === 'PATCH')) {
        const old = store.get(id);
        const body = await jsonBody(req);
        const merged = method === 'PATCH' ? { ...old, ...body } : body;
        return sendJson(res, 200, envelope(store.put(store.validate(merged, id, old.created_on))));
      }
      if (id && method === 'DELETE') {
        store.get(id);
        store.records.delete(id);
        return sendJson(res, 200, envelope({ id }));
      }
      throw new CfError(405, 10405, `Method ${method} not allowed`);
    } catch (err) {
      const e = err instanceof CfError ? err : new CfError(500, 10001, String(err));
      sendJson(res, e.status, {
        success: false,
        errors: [{ code: e.code, message: e.message }],
        messages: [],
        result: null,
      });
    }
  };
}

/** Starts the API on loopback and the DNS answers; both stop at close. */
export async function startCloudflareDns(o: CloudflareDnsOptions): Promise<CloudflareDns> {
  const host = o.host ?? '127.0.0.1';
  const zoneName = o.zoneName.toLowerCase();
  const zoneId = o.zoneId ?? randomBytes(16).toString('hex');
  const token = o.token ?? randomBytes(20).toString('base64url');
  const store = new RecordStore(zoneId, zoneName);
  let outage = false;
  const { server, port } = await serveJson(
    host,
    o.apiPort ?? 0,
    route(store, token, () => outage),
    String,
  );
  let dns: DnsAnswers;
  try {
    dns = await startDnsAnswers({ host, port: o.dnsPort ?? 0, zoneName, lookup: (name) => store.byName(name) });
  } catch (err) {
    await closeServer(server);
    throw err;
  }
  return {
    apiBase: `http://${host}:${port}/client/v4`,
    zoneId,
    zoneName,
    token,
    dnsHost: host,
    dnsPort: dns.port,
    setOutage: (on) => {
      outage = on;
    },
    close: async () => {
      await dns.close();
      await closeServer(server);
    },
  };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((done) => server.close(() => done()));
}
