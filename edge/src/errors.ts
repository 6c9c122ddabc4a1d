// Typed API errors and the one handler that turns them into `{"error":{"code","message"}}` responses.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { unavailableIn } from './lib/unavailable.ts';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what = 'resource') => new ApiError(404, 'not_found', `${what} not found`);
export const forbidden = (message = 'admin role required') => new ApiError(403, 'forbidden', message);
export const unauthorized = (message = 'authentication required') => new ApiError(401, 'unauthorized', message);
export const conflict = (code: string, message: string) => new ApiError(409, code, message);

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError) return c.json(errorBody(err.code, err.message), err.status);
  const down = unavailableIn(err);
  if (down) {
    console.error(
      JSON.stringify({ level: 'error', msg: 'service unavailable', service: down.service, error: down.message }),
    );
    return c.json(errorBody(`${down.service}_unavailable`, down.message), 503);
  }
  console.error(JSON.stringify({ level: 'error', msg: 'unhandled', error: String(err?.stack ?? err) }));
  return c.json(errorBody('internal', 'internal error'), 500);
}
