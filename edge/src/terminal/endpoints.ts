// GET /environments/:id/terminal: the owner's browser terminal, a WebSocket bridged through the data shard to a shell the relay keeps.
import {
  TERMINAL_MAX_COLS,
  TERMINAL_MAX_ROWS,
  TERMINAL_PORT,
  TERMINAL_SESSION_PATTERN,
  type OpenHead,
} from '@remotegpu/schema';
import type { Hono } from 'hono';
import { z } from 'zod';
import { lookupAppTarget } from '../apps/app-target.ts';
import { forwardToShard } from '../apps/forward.ts';
import { operatedEnv } from '../environments/access.ts';
import { ApiError } from '../errors.ts';
import { endpoint, type AppEnv, type Ctx } from '../lib/api.ts';
import { clientIp } from '../lib/request.ts';

const size = (max: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,3}$/)
    .transform(Number)
    .refine((n) => n <= max, `must be 1-${max}`);

const TerminalQuery = z.object({
  session: z.string().regex(TERMINAL_SESSION_PATTERN, 'must be 16-64 characters of [A-Za-z0-9_-]'),
  cols: size(TERMINAL_MAX_COLS).default(80),
  rows: size(TERMINAL_MAX_ROWS).default(24),
});

/**
 * Browsers send cookies with a WebSocket handshake from any site and no CORS applies to it: a page elsewhere could
 * otherwise drive the owner's shell (cross-site WebSocket hijacking). Cookie callers must come from the console's origin.
 */
function checkOrigin(c: Ctx): void {
  if (/^Bearer\s+\S+$/i.test(c.req.header('authorization') ?? '')) return;
  const allowed = new Set([new URL(c.req.url).origin]);
  const publicUrl = c.get('deps').config.publicUrl;
  if (publicUrl) allowed.add(new URL(publicUrl).origin);
  const origin = c.req.header('origin');
  if (!origin || !allowed.has(origin))
    throw new ApiError(403, 'cross_origin_request', "the terminal opens only from the console's own origin");
}

export function registerTerminalEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/environments/:id/terminal',
      summary:
        'WebSocket upgrade to a shell in the environment (owner only). Binary messages are terminal bytes both ways; text messages are JSON control: {"type":"resize","cols","rows"} in, {"type":"exit","code"} out. The same `session` (chosen by the browser) reattaches within 5 minutes and replays the last 64 KiB of output.',
      tag: 'environments',
      auth: 'user',
      query: TerminalQuery,
    },
    async (c, { user, params, query }) => {
      const deps = c.get('deps');
      const env = await operatedEnv(deps, user, params.id, 'only the owner opens a terminal in this environment');
      checkOrigin(c);
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket')
        throw new ApiError(426, 'upgrade_required', 'the terminal is a WebSocket: send Upgrade: websocket');
      if (env.status !== 'running')
        throw new ApiError(409, 'not_running', `environment ${env.id} is ${env.status}: start it first`);
      const route = await lookupAppTarget(env.id, () => Promise.resolve(deps));
      if (!route) throw new ApiError(409, 'not_running', `environment ${env.id} has no route yet`);
      const ip = clientIp(c);
      const open: OpenHead = {
        environment_id: env.id,
        port: TERMINAL_PORT,
        method: 'GET',
        path: '/',
        headers: [],
        websocket: true,
        has_body: false,
        terminal: { session: query.session, cols: query.cols, rows: query.rows, user_id: user.id, source_ip: ip },
      };
      return forwardToShard(c.req.raw, c.env, route, open, 0);
    },
  );
}
