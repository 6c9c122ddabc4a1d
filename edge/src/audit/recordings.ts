// Session recordings (asciicast v2) uploaded by relays through the tunnel.
import { ENV_ID_PATTERN, tables } from '@remotegpu/schema';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Deps } from '../deps.ts';

const Recording = z.object({
  id: z.string().min(1).max(128),
  environment_id: z.string().regex(ENV_ID_PATTERN),
  username: z.string().max(256),
  source_ip: z.string().max(64),
  started_at: z.number(),
  ended_at: z.number(),
  cast: z.string().max(16 * 1024 * 1024),
});

export async function storeRecording(deps: Deps, hostId: string, data: unknown): Promise<boolean> {
  const r = Recording.safeParse(data);
  if (!r.success) return false;
  const [env] = await deps.db
    .select()
    .from(tables.environments)
    .where(and(eq(tables.environments.id, r.data.environment_id), eq(tables.environments.host_id, hostId)));
  if (!env) return true; // the environment is gone: nothing to keep, but stop the relay resending it
  await deps.db
    .insert(tables.sessionRecordings)
    .values({
      id: `${hostId}:${r.data.id}`,
      environment_id: env.id,
      user_id: env.user_id,
      username: r.data.username,
      source_ip: r.data.source_ip,
      started_at: r.data.started_at,
      ended_at: r.data.ended_at,
      size: r.data.cast.length,
      cast: r.data.cast,
    })
    .onConflictDoNothing();
  return true;
}
