// Queues an event for every webhook of an account that asked for it (host.offline: every admin's); delivery.ts sends.
import { tables, type WebhookEventName } from '@remotegpu/schema';
import { eq, inArray } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { isoReq } from '../lib/time.ts';

/** Returns how many deliveries were queued. `accountId` null: the admins' webhooks (platform events). */
export async function emitEvent(
  deps: Deps,
  accountId: string | null,
  event: WebhookEventName,
  data: Record<string, unknown>,
  at = Date.now(),
): Promise<number> {
  let accounts: string[];
  if (accountId === null) {
    const admins = await deps.db
      .select({ id: tables.users.id })
      .from(tables.users)
      .where(eq(tables.users.role, 'admin'));
    accounts = admins.map((a) => a.id);
  } else accounts = [accountId];
  if (!accounts.length) return 0;
  const hooks = await deps.db.select().from(tables.webhooks).where(inArray(tables.webhooks.account_id, accounts));
  const wanted = hooks.filter((h) => h.active && h.events.includes(event));
  if (!wanted.length) return 0;
  const payload = JSON.stringify({ event, created_at: isoReq(at), data });
  await deps.db.insert(tables.webhookDeliveries).values(
    wanted.map((h) => ({
      webhook_id: h.id,
      account_id: h.account_id,
      event,
      payload,
      status: 'pending' as const,
      next_attempt_at: at,
      created_at: at,
    })),
  );
  console.log(
    JSON.stringify({ level: 'info', msg: 'webhook event queued', event, account_id: accountId, hooks: wanted.length }),
  );
  return wanted.length;
}
