// Sends due webhook deliveries: signed POSTs, retried with exponential backoff, `failed` after the last attempt.
import { tables } from '@remotegpu/schema';
import { and, eq, lte } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { decryptSecret } from '../platform/crypto.ts';
import { signatureHeader } from './signature.ts';

type Fetch = (input: string, init: RequestInit) => Promise<Response>;
type DeliveryRow = typeof tables.webhookDeliveries.$inferSelect;

const TIMEOUT_MS = 10_000;
/** A claimed delivery is not picked again for this long (another cron run may overlap). */
const LEASE_MS = 60_000;

/** Delay before attempt n+1 after n failed attempts: base × 2^(n-1), capped at a day. */
function backoffMs(base: number, attempts: number): number {
  return Math.min(base * 2 ** Math.max(0, attempts - 1), 86_400_000);
}

/** Sends up to `limit` due deliveries; returns how many were attempted. */
export async function deliverDue(deps: Deps, now = Date.now(), limit = 50, fetchFn: Fetch = fetch): Promise<number> {
  const due = await deps.db
    .select()
    .from(tables.webhookDeliveries)
    .where(and(eq(tables.webhookDeliveries.status, 'pending'), lte(tables.webhookDeliveries.next_attempt_at, now)))
    .limit(limit);
  let n = 0;
  for (const d of due) {
    const claimed = await deps.db
      .update(tables.webhookDeliveries)
      .set({ next_attempt_at: now + LEASE_MS })
      .where(
        and(eq(tables.webhookDeliveries.id, d.id), eq(tables.webhookDeliveries.next_attempt_at, d.next_attempt_at)),
      )
      .returning({ id: tables.webhookDeliveries.id });
    if (!claimed.length) continue;
    n++;
    await attempt(deps, d, now, fetchFn);
  }
  return n;
}

/** One signed POST of a delivery (also the console's "send test" path). */
export async function attempt(deps: Deps, d: DeliveryRow, now: number, fetchFn: Fetch = fetch): Promise<DeliveryRow> {
  const [hook] = await deps.db.select().from(tables.webhooks).where(eq(tables.webhooks.id, d.webhook_id));
  let status: number | null = null;
  let error: string | null = null;
  if (!hook) error = 'the webhook was deleted';
  else {
    const secret = await decryptSecret(deps.config.secretKey, hook.secret_enc);
    const body = JSON.stringify({ id: `evt_${d.id}`, ...(JSON.parse(d.payload) as object) });
    try {
      const res = await fetchFn(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'RemoteGPU-Webhooks/1',
          'remotegpu-signature': await signatureHeader(secret, body, now),
          'remotegpu-event': d.event,
          'remotegpu-delivery': String(d.id),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      status = res.status;
      await res.body?.cancel();
      if (status < 200 || status > 299) error = `the receiver answered ${status}`;
    } catch (err) {
      error = `could not deliver: ${String((err as Error)?.message ?? err).slice(0, 300)}`;
    }
  }
  const attempts = d.attempts + 1;
  const b = deps.config.billing;
  const patch =
    error === null
      ? { status: 'delivered' as const, attempts, last_status: status, last_error: null, delivered_at: now }
      : attempts >= b.webhookMaxAttempts || !hook
        ? { status: 'failed' as const, attempts, last_status: status, last_error: error }
        : {
            attempts,
            last_status: status,
            last_error: error,
            next_attempt_at: now + backoffMs(b.webhookBackoffMs, attempts),
          };
  const [row] = await deps.db
    .update(tables.webhookDeliveries)
    .set(patch)
    .where(eq(tables.webhookDeliveries.id, d.id))
    .returning();
  console.log(
    JSON.stringify({
      level: error ? 'warn' : 'info',
      msg: 'webhook delivery',
      delivery_id: d.id,
      webhook_id: d.webhook_id,
      event: d.event,
      attempts,
      status: row?.status,
      error,
    }),
  );
  return row ?? { ...d, ...patch };
}
