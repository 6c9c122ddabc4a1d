// Saved images: a renter saves an environment as a private image (commit + push to the operator's registry by its
// relay, progress in the image's status), lists and inspects it (its maker or, for a team's environment, the team's
// members), and deletes it (registry + row).
import {
  CMD,
  EVENT,
  Image,
  ImageProgressEvent,
  ImageSavedEvent,
  SaveImageRequest,
  generateEnvironmentId,
  tables,
} from '@remotegpu/schema';
import { and, eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { imageJson } from '../admin/catalog.ts';
import { recordAudit } from '../audit/service.ts';
import type { AuthUser } from '../auth/service.ts';
import type { Deps } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { clientIp } from '../lib/request.ts';
import { commandError } from '../tunnel/command-errors.ts';
import { sendCommand } from '../tunnel/stub.ts';
import { operatedEnv } from '../environments/access.ts';
import { mayUse } from '../teams/service.ts';

type ImageRow = typeof tables.images.$inferSelect;

/**
 * The image if this user may see it: the catalog, a saved image they made, or one of their team's (admins: any). 404
 * otherwise; with `act` (delete), 403 `forbidden_role` for a read-only member of the image's team.
 */
async function visibleImage(deps: Deps, user: AuthUser, id: string, act = false): Promise<ImageRow> {
  const n = Number(id);
  const [row] =
    Number.isSafeInteger(n) && n > 0 ? await deps.db.select().from(tables.images).where(eq(tables.images.id, n)) : [];
  if (!row) throw notFound('image');
  if (row.owner_id === null || user.role === 'admin') return row;
  if (!(await mayUse(deps, user, { creator: row.owner_id, team_id: row.team_id }, act))) throw notFound('image');
  return row;
}

/**
 * Starts saving the environment: an image row (`saving`) owned by the renter, then `image.save` on its relay, which
 * answers at once and reports progress and the outcome as events (applyImageEvent).
 */
async function saveEnvironmentImage(deps: Deps, user: AuthUser, envId: string, label: string): Promise<ImageRow> {
  // Ownership first: another renter's environment id is 404 whatever the platform's configuration.
  const env = await operatedEnv(deps, user, envId, 'only the owner saves an environment');
  const registry = deps.config.registry;
  if (!registry)
    throw new ApiError(409, 'registry_not_configured', 'this platform has no image registry (REMOTEGPU_REGISTRY)');
  if (env.type !== 'container' || !env.container_id || !['running', 'stopped'].includes(env.status))
    throw new ApiError(409, 'invalid_state', `cannot save an environment that is ${env.status}`);
  const [base] = env.image_id
    ? await deps.db.select().from(tables.images).where(eq(tables.images.id, env.image_id))
    : [];
  const rid = generateEnvironmentId();
  const [row] = await deps.db
    .insert(tables.images)
    .values({
      name: `saved/${rid}`,
      docker_ref: `${registry}/saved/${rid}:latest`,
      has_sshd: base?.has_sshd ?? false,
      hourly_price: base?.hourly_price ?? 0,
      no_gpu_hourly_price: base?.no_gpu_hourly_price ?? null,
      data_path: base?.data_path ?? '/root/data',
      description: label,
      owner_id: user.id,
      // A team's environment saves into a team image: its members see and use it.
      team_id: env.team_id,
      status: 'saving',
      status_reason: 'queued',
      source_environment_id: env.id,
    })
    .returning();
  const image = row!;
  const outcome = await sendCommand(deps, env.host_id, CMD.imageSave, {
    environment_id: env.id,
    image_id: image.id,
    ref: image.docker_ref,
  });
  if (!outcome.ok) {
    await deps.db.delete(tables.images).where(eq(tables.images.id, image.id));
    throw commandError('save', outcome.error);
  }
  return image;
}

/** `image.progress` and `image.saved` from a relay: only for a saving image whose environment that relay hosts. */
export async function applyImageEvent(deps: Deps, hostId: string, name: string, data: unknown): Promise<boolean> {
  const parsed = name === EVENT.imageProgress ? ImageProgressEvent.safeParse(data) : ImageSavedEvent.safeParse(data);
  if (!parsed.success) return false;
  const t = tables.images;
  const [image] = await deps.db
    .select()
    .from(t)
    .where(and(eq(t.id, parsed.data.image_id), eq(t.status, 'saving')));
  if (!image?.source_environment_id) return true;
  const [env] = await deps.db
    .select({ host_id: tables.environments.host_id })
    .from(tables.environments)
    .where(eq(tables.environments.id, image.source_environment_id));
  // A relay speaks only for its own environments (one deleted meanwhile: its final word is still taken).
  if (env && env.host_id !== hostId) return true;
  if (name === EVENT.imageProgress) {
    if (!env) return true;
    const p = parsed.data as z.infer<typeof ImageProgressEvent>;
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    const reason = p.total ? `${p.status} ${mb(p.current ?? 0)} / ${mb(p.total)}` : p.status;
    await deps.db
      .update(t)
      .set({ status_reason: reason.slice(0, 500) })
      .where(and(eq(t.id, image.id), eq(t.status, 'saving')));
    return true;
  }
  const s = parsed.data as z.infer<typeof ImageSavedEvent>;
  await deps.db
    .update(t)
    .set(
      s.ok
        ? { status: 'ready', status_reason: null, size_bytes: s.size_bytes ?? null }
        : { status: 'failed', status_reason: (s.error ?? 'failed').slice(0, 4000) },
    )
    .where(eq(t.id, image.id));
  return true;
}

/** Deletes a saved image: from the registry through a relay (its source environment's, else any online one), then the row. */
async function deleteSavedImage(deps: Deps, image: ImageRow): Promise<void> {
  const [inUse] = await deps.db
    .select({ id: tables.environments.id })
    .from(tables.environments)
    .where(eq(tables.environments.image_id, image.id))
    .limit(1);
  if (inUse) throw new ApiError(409, 'image_in_use', `environment ${inUse.id} runs this image: delete it first`);
  if (image.status === 'saving') throw new ApiError(409, 'invalid_state', 'the image is still being saved');
  if (image.status === 'ready') {
    const hosts = await deps.db
      .select({ id: tables.hosts.id })
      .from(tables.hosts)
      .where(eq(tables.hosts.status, 'online'));
    if (!hosts.length)
      throw new ApiError(503, 'host_offline', 'no relay is online to delete the image from the registry');
    const outcome = await sendCommand(deps, hosts[0]!.id, CMD.imageDelete, { ref: image.docker_ref });
    if (!outcome.ok) throw commandError('delete', outcome.error);
  }
  await deps.db.delete(tables.images).where(eq(tables.images.id, image.id));
}

export function registerSavedImageEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/environments/:id/save-image',
      summary: 'Save the environment as a private image (commit + push); poll GET /images/:id for its status',
      tag: 'environments',
      auth: 'user',
      body: SaveImageRequest,
      response: z.object({ image: Image }),
      status: 202,
    },
    async (c, { user, params, body }) => {
      const deps = c.get('deps');
      const image = await saveEnvironmentImage(deps, user, params.id, body.name);
      await recordAudit(deps, {
        event: 'environment.save_image',
        status: 'success',
        user_id: user.id,
        actor_id: user.id,
        environment_id: params.id,
        type: 'container',
        source_ip: clientIp(c),
        detail: { image_id: image.id, ref: image.docker_ref },
      });
      return c.json({ image: imageJson(image) }, 202);
    },
  );

  endpoint(
    app,
    {
      method: 'get',
      path: '/api/v1/images/:id',
      summary: "One image (a saved one: its maker's or its team's), with its save status and size",
      tag: 'environments',
      auth: 'user',
      response: z.object({ image: Image }),
    },
    async (c, { user, params }) => c.json({ image: imageJson(await visibleImage(c.get('deps'), user, params.id)) }),
  );

  endpoint(
    app,
    {
      method: 'delete',
      path: '/api/v1/images/:id',
      summary:
        "Delete your (or your team's) saved image (from the registry too); 409 image_in_use while an environment runs it",
      tag: 'environments',
      auth: 'user',
    },
    async (c, { user, params }) => {
      const deps = c.get('deps');
      const image = await visibleImage(deps, user, params.id, true);
      if (image.owner_id === null) throw new ApiError(403, 'forbidden', 'catalog images are managed by admins');
      await deleteSavedImage(deps, image);
      return c.body(null, 204);
    },
  );
}
