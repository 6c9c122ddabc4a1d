// API endpoints: one spec per method and path gives validation (path, query, body), auth and the OpenAPI entry.
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { Bindings } from '../env.ts';
import type { Deps } from '../deps.ts';
import { ApiError, forbidden, unauthorized } from '../errors.ts';
import type { AuthUser } from '../auth/service.ts';
import type { TokenScope } from '@remotegpu/schema';
import { checkScope } from '../tokens/scopes.ts';

export type AppEnv = { Bindings: Bindings; Variables: { deps: Deps; user: AuthUser | null } };
export type Ctx = Context<AppEnv>;

/** The `:name` parameters of a path, as a union of names. */
type ParamNames<S extends string> = S extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : S extends `${string}:${infer Name}`
    ? Name
    : never;

export interface EndpointSpec<
  B extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
  P extends z.ZodType | undefined = undefined,
  Path extends string = string,
> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Hono path with `:name` parameters. */
  path: Path;
  /** Parses the path parameters (default: each `:name` as a string of 1-128 characters). */
  params?: P;
  summary: string;
  tag: string;
  auth: 'none' | 'user' | 'admin';
  /** The API token scope needed (default from method, tag and auth: tokens/scopes.ts). */
  scope?: TokenScope;
  body?: B;
  query?: Q;
  response?: z.ZodType;
  status?: number;
}

export type AnySpec = EndpointSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;
/** Every endpoint registered so far, in order (the OpenAPI document and the isolation tests iterate it). */
export const endpoints: AnySpec[] = [];

type In<T> = T extends z.ZodType ? z.infer<T> : undefined;
export interface Input<B, Q, P, Path extends string = string> {
  body: In<B>;
  query: In<Q>;
  /** The parsed path parameters. */
  params: P extends z.ZodType ? z.infer<P> : { [K in ParamNames<Path>]: string };
  user: AuthUser;
}

/** A path parameter naming a row: ids are opaque strings. */
export const IdParam = z.string().min(1).max(128);
/** A TCP port in a path: 1-65535, decimal, no leading zero. */
export const PortParam = z
  .string()
  .regex(/^[1-9][0-9]{0,4}$/, 'must be 1-65535')
  .transform(Number)
  .refine((n) => n <= 65535, 'must be 1-65535');

/** The default parameter schema of a path: every `:name` an IdParam. */
function pathParams(path: string): z.ZodObject {
  return z.object(Object.fromEntries([...path.matchAll(/:([A-Za-z_]+)/g)].map((m) => [m[1]!, IdParam])));
}

const MAX_BODY = 64 * 1024;

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    .join('; ');
}

async function readJson(c: Ctx): Promise<unknown> {
  const length = Number(c.req.header('content-length') ?? 0);
  if (length > MAX_BODY) throw new ApiError(413, 'payload_too_large', `request body over ${MAX_BODY} bytes`);
  const text = await c.req.text();
  if (text.length > MAX_BODY) throw new ApiError(413, 'payload_too_large', `request body over ${MAX_BODY} bytes`);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_json', 'request body is not valid JSON');
  }
}

function parseWith<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ApiError(422, 'validation_failed', `invalid ${where}: ${describe(r.error)}`);
  return r.data;
}

/**
 * Registers an endpoint: auth (401/403), then path parameters, query and JSON body parsed by their zod schemas
 * (422 `validation_failed` naming the field), then the handler with the parsed input.
 */
export function endpoint<
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
  Path extends string = string,
>(
  app: Hono<AppEnv>,
  spec: EndpointSpec<B, Q, P, Path>,
  handler: (c: Ctx, input: Input<B, Q, P, Path>) => Promise<Response> | Response,
): void {
  const paramsSchema = spec.params ?? pathParams(spec.path);
  endpoints.push({ ...spec, params: paramsSchema } as AnySpec);
  app.on(spec.method.toUpperCase(), spec.path, async (c) => {
    const user = c.get('user');
    if (spec.auth !== 'none' && !user) throw unauthorized();
    if (spec.auth === 'admin' && user?.role !== 'admin') throw forbidden();
    if (user && spec.auth !== 'none') checkScope(user.scopes, spec);
    const params = parseWith(paramsSchema, c.req.param(), 'path');
    const body = spec.body ? parseWith(spec.body, await readJson(c), 'body') : undefined;
    const query = spec.query ? parseWith(spec.query, c.req.query(), 'query') : undefined;
    const caller = user ? { ...user, writes: spec.method !== 'get' } : user;
    return handler(c, { body, query, params, user: caller as AuthUser } as Input<B, Q, P, Path>);
  });
}
