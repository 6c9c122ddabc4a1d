// Route definition with validation, auth and OpenAPI registration from the same zod schemas.
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { Bindings } from '../env.ts';
import type { Deps } from '../deps.ts';
import { ApiError, forbidden, unauthorized } from '../errors.ts';
import type { AuthUser } from '../auth/service.ts';

export type AppEnv = { Bindings: Bindings; Variables: { deps: Deps; user: AuthUser | null } };
export type Ctx = Context<AppEnv>;

export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  tag: string;
  auth: 'none' | 'user' | 'admin';
  body?: B;
  query?: Q;
  response?: z.ZodType;
  status?: number;
}

export type AnySpec = RouteSpec<z.ZodType | undefined, z.ZodType | undefined>;
export const registry: AnySpec[] = [];

type In<T> = T extends z.ZodType ? z.infer<T> : undefined;
export interface Input<B, Q> {
  body: In<B>;
  query: In<Q>;
  user: AuthUser;
}

const MAX_BODY = 64 * 1024;

function describe(error: z.ZodError): string {
  return error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

export async function readJson(c: Ctx): Promise<unknown> {
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

export function parseWith<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ApiError(422, 'validation_failed', `invalid ${where}: ${describe(r.error)}`);
  return r.data;
}

export function route<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
  app: Hono<AppEnv>,
  spec: RouteSpec<B, Q>,
  handler: (c: Ctx, input: Input<B, Q>) => Promise<Response> | Response,
): void {
  registry.push(spec as AnySpec);
  app.on(spec.method.toUpperCase(), spec.path, async (c) => {
    const user = c.get('user');
    if (spec.auth !== 'none' && !user) throw unauthorized();
    if (spec.auth === 'admin' && user?.role !== 'admin') throw forbidden();
    const body = spec.body ? parseWith(spec.body, await readJson(c), 'body') : undefined;
    const query = spec.query ? parseWith(spec.query, c.req.query(), 'query') : undefined;
    return handler(c, { body, query, user: user as AuthUser } as Input<B, Q>);
  });
}
