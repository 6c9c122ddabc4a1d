// /ssh-keys: the renter's public keys, valid for every environment they own (pushed to the relays at once).
import { CreateSshKeyRequest, SshKey, tables } from '@remotegpu/schema';
import { and, desc, eq, inArray, or } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { Deps } from '../deps.ts';
import { ApiError, conflict, notFound } from '../errors.ts';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { newId } from '../lib/ids.ts';
import { isoReq } from '../lib/time.ts';
import { publishRoute } from '../routing/sync.ts';
import { SERVED_STATUSES } from '../routing/relay-routes.ts';
import { teamIdsOf } from '../teams/service.ts';

const KEY_LINE =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) ([A-Za-z0-9+/]+={0,2})(?: ([^\r\n]{0,200}))?$/;

/** Parses an OpenSSH public key line; returns the normalized line and its SHA256 fingerprint. */
async function parsePublicKey(line: string): Promise<{ key: string; fingerprint: string } | null> {
  const m = KEY_LINE.exec(line.trim());
  if (!m) return null;
  let blob: Uint8Array;
  try {
    blob = Uint8Array.from(atob(m[2]!), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
  // The blob starts with its own type name: a mismatch means a pasted fragment or a forgery.
  const len = new DataView(blob.buffer).getUint32(0);
  if (blob.length < 4 + len || new TextDecoder().decode(blob.subarray(4, 4 + len)) !== m[1]) return null;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', blob));
  const fp = btoa(String.fromCharCode(...digest)).replace(/=+$/, '');
  return { key: `${m[1]} ${m[2]}${m[3] ? ` ${m[3]}` : ''}`, fingerprint: `SHA256:${fp}` };
}

/** Pushes the routes of every environment the user's keys open: their own and their teams' (keys changed). */
async function republishOwned(deps: Deps, userId: string): Promise<void> {
  const e = tables.environments;
  const teams = await teamIdsOf(deps, userId);
  const mine = teams.length ? or(eq(e.user_id, userId), inArray(e.team_id, teams)) : eq(e.user_id, userId);
  const envs = await deps.db
    .select()
    .from(e)
    .where(and(mine, inArray(e.status, [...SERVED_STATUSES])));
  for (const env of envs) await publishRoute(deps, env);
}

const keyJson = (k: typeof tables.sshKeys.$inferSelect) => ({
  id: k.id,
  name: k.name,
  public_key: k.public_key,
  fingerprint: k.fingerprint,
  created_at: isoReq(k.created_at),
});

export function registerKeyEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/ssh-keys',
      summary: 'Your SSH public keys',
      tag: 'keys',
      auth: 'user',
      response: z.object({ items: z.array(SshKey) }),
    },
    async (c, { user }) => {
      const rows = await c
        .get('deps')
        .db.select()
        .from(tables.sshKeys)
        .where(eq(tables.sshKeys.user_id, user.id))
        .orderBy(desc(tables.sshKeys.created_at));
      return c.json({ items: rows.map(keyJson) });
    },
  );

  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/ssh-keys',
      summary: 'Add an SSH public key',
      tag: 'keys',
      auth: 'user',
      body: CreateSshKeyRequest,
      response: z.object({ key: SshKey }),
      status: 201,
    },
    async (c, { body, user }) => {
      const deps = c.get('deps');
      const parsed = await parsePublicKey(body.public_key);
      if (!parsed)
        throw new ApiError(422, 'validation_failed', 'invalid body: public_key: not an OpenSSH public key line');
      const [row] = await deps.db
        .insert(tables.sshKeys)
        .values({
          id: newId('key'),
          user_id: user.id,
          name: body.name,
          public_key: parsed.key,
          fingerprint: parsed.fingerprint,
        })
        .onConflictDoNothing()
        .returning();
      if (!row) throw conflict('key_exists', 'this key is already on your account');
      await republishOwned(deps, user.id);
      return c.json({ key: keyJson(row) }, 201);
    },
  );

  endpoint(
    app,
    { method: 'delete', path: '/api/v1/ssh-keys/:id', summary: 'Remove an SSH public key', tag: 'keys', auth: 'user' },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const res = await deps.db
        .delete(tables.sshKeys)
        .where(and(eq(tables.sshKeys.id, params.id), eq(tables.sshKeys.user_id, user.id)))
        .returning();
      if (!res.length) throw notFound('key');
      await republishOwned(deps, user.id);
      return c.body(null, 204);
    },
  );
}
