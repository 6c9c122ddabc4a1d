// /environments/:id/files: the owner's uploads to and downloads from the environment, streamed through its data shard to the relay's SFTP.
import { FILE_STREAM_PORT, FilePath, type FileOpen, type OpenHead } from '@remotegpu/schema';
import type { Hono } from 'hono';
import { z } from 'zod';
import { lookupAppTarget } from '../apps/app-target.ts';
import { forwardToShard } from '../apps/forward.ts';
import { operatedEnv } from '../environments/access.ts';
import { ApiError } from '../errors.ts';
import { endpoint, type AppEnv, type Ctx } from '../lib/api.ts';
import { clientIp } from '../lib/request.ts';

const FileQuery = z.object({ path: FilePath });

/** What the shard's own failures mean for a file (the relay's answers, JSON already, pass as they are). */
const SHARD_ERRORS: Record<string, [number, string]> = {
  host_offline: [503, 'the relay serving this environment is not connected'],
  bad_gateway: [502, "the environment's files are unreachable (is it running?)"],
};

async function transfer(
  c: Ctx,
  user: Parameters<typeof operatedEnv>[1],
  id: string,
  file: FileOpen,
): Promise<Response> {
  const deps = c.get('deps');
  // Owner (or team member) only, as for SSH: an admin manages the platform, not a renter's files.
  const env = await operatedEnv(deps, user, id, "only the owner reads or writes this environment's files");
  if (env.status !== 'running') throw new ApiError(409, 'not_running', 'start the environment to reach its files');
  const route = await lookupAppTarget(env.id, async () => deps);
  if (!route) throw new ApiError(409, 'not_running', 'start the environment to reach its files');
  const request = c.req.raw;
  const put = file.op === 'put';
  const open: OpenHead = {
    environment_id: env.id,
    port: FILE_STREAM_PORT,
    method: put ? 'PUT' : 'GET',
    path: '/',
    headers: [['x-real-ip', clientIp(c)]],
    websocket: false,
    has_body: put && request.body !== null,
    file,
  };
  return forwardToShard(request, c.env, route, open, 0, (status, code, message) => {
    const known = SHARD_ERRORS[code];
    // The shard's own words (e.g. which reset) follow the renter-facing text: they say what to look for in the logs.
    const [s, text] = known ? [known[0], `${known[1]} (${message})`] : [status, message];
    return c.json({ error: { code, message: text } }, s as 502);
  });
}

export function registerFileEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/environments/:id/files',
      summary: 'Download a file from the environment (`path`: absolute); the body streams, with its length',
      tag: 'files',
      auth: 'user',
      query: FileQuery,
    },
    (c, { user, params, query }) => transfer(c, user, params.id, { op: 'get', path: query.path }),
  );
  endpoint(
    app,
    {
      method: 'put',
      path: '/api/v1/environments/:id/files',
      summary:
        'Upload a file into the environment (`path`: absolute; the raw body is the file; browsers send `X-RemoteGPU-Upload: 1`); answers {path, bytes}',
      tag: 'files',
      auth: 'user',
      query: FileQuery,
      status: 201,
      response: z.object({ path: z.string(), bytes: z.number() }),
    },
    (c, { user, params, query }) => transfer(c, user, params.id, { op: 'put', path: query.path }),
  );
}
