// The money API's types (zod, snake_case JSON): balance, ledger, credits, quotas, scoped tokens, webhooks.
import { z } from 'zod';
import { LEDGER_KINDS } from './tables.ts';

/** Integer minor units (fen for CNY): never a float. */
const minor = z.number().int();
const idem = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');

export const Balance = z.object({
  account_id: z.string(),
  /** Minor units of `currency`. */
  balance: minor,
  currency: z.string(),
  /** Digits of one minor unit (2 for CNY: balance 12345 is 123.45). */
  minor_digits: z.number().int(),
  low_balance: minor,
});
export type Balance = z.infer<typeof Balance>;

export const LedgerEntry = z.object({
  id: z.number().int(),
  kind: z.enum(LEDGER_KINDS),
  amount: minor,
  balance_after: minor,
  currency: z.string(),
  environment_id: z.string().nullable(),
  description: z.string(),
  created_at: z.string(),
});
export type LedgerEntry = z.infer<typeof LedgerEntry>;

export const CreditRequest = z
  .object({
    /** Minor units; positive for credit and refund, either sign (non-zero) for adjustment. */
    amount: minor.refine((n) => n !== 0 && Math.abs(n) <= 1e12, 'must be non-zero, at most 1e12'),
    kind: z.enum(['credit', 'refund', 'adjustment']).default('credit'),
    description: z.string().max(500).default(''),
    /** Retrying with the same key posts once. */
    idempotency_key: idem.optional(),
  })
  .strict();

/** The payment provider's hook body (signed with REMOTEGPU_PAYMENT_HOOK_SECRET). */
export const PaymentHookRequest = z
  .object({
    account_id: z.string().min(1).max(128),
    amount: minor.min(1).max(1e12),
    payment_id: idem,
    description: z.string().max(500).optional(),
  })
  .strict();

export const Quota = z.object({
  max_gpus: z.number().int().min(0).max(100_000).nullable(),
  max_environments: z.number().int().min(0).max(100_000).nullable(),
});
export const QuotaRequest = Quota.partial().strict();

export const UsageDay = z.object({
  environment_id: z.string().nullable(),
  day: z.string(),
  amount: minor,
  entries: z.number().int(),
});

export const TOKEN_SCOPES = ['read', 'environments', 'billing', 'admin'] as const;
export const TokenScope = z.enum(TOKEN_SCOPES);
export type TokenScope = z.infer<typeof TokenScope>;

export const WEBHOOK_EVENTS = [
  'environment.created',
  'environment.stopped',
  'environment.idle_stopped',
  'environment.failed',
  'balance.low',
  'balance.zero',
  'rental.expiring',
  'host.offline',
] as const;
export const WebhookEventName = z.enum(WEBHOOK_EVENTS);
export type WebhookEventName = z.infer<typeof WebhookEventName>;

export const CreateWebhookRequest = z
  .object({
    url: z
      .string()
      .max(2048)
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be http(s)'),
    events: z.array(WebhookEventName).min(1).max(WEBHOOK_EVENTS.length),
  })
  .strict();
export const Webhook = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  active: z.boolean(),
  created_at: z.string(),
});
export const CreatedWebhook = Webhook.extend({ secret: z.string() });
export const WebhookDelivery = z.object({
  id: z.number().int(),
  event: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  next_attempt_at: z.string().nullable(),
  last_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: z.string(),
  delivered_at: z.string().nullable(),
});
