// Money settings (REMOTEGPU_CURRENCY and friends), validated at start like the rest of the edge's config.
import type { Bindings } from '../env.ts';

export interface BillingConfig {
  /** ISO 4217 code of the platform's one currency (REMOTEGPU_CURRENCY, default CNY). */
  currency: string;
  /** Decimal digits of one minor unit: 2 for CNY/USD (fen, cents), 0 for JPY. */
  minorDigits: number;
  /** Create/start needs a balance of at least this many hours of the environment's price (REMOTEGPU_MIN_BALANCE_HOURS, default 1; 0 = no check). */
  minBalanceHours: number;
  /** balance.low is sent when the balance falls below this many minor units (REMOTEGPU_LOW_BALANCE, default 1000). */
  lowBalance: number;
  /** Refund the unused part of a monthly rental on release (REMOTEGPU_PRORATE_RELEASE=true). */
  prorateRelease: boolean;
  /** HMAC-SHA256 secret of the payment provider's credit hook (REMOTEGPU_PAYMENT_HOOK_SECRET); null = hook off. */
  paymentHookSecret: string | null;
  /** Credited to every new account at registration (REMOTEGPU_SIGNUP_CREDIT, minor units, default 0). */
  signupCredit: number;
  /** Webhook deliveries: attempts before `failed` (REMOTEGPU_WEBHOOK_MAX_ATTEMPTS, default 8). */
  webhookMaxAttempts: number;
  /** First retry delay, doubled each attempt (REMOTEGPU_WEBHOOK_BACKOFF_MS, default 30000). */
  webhookBackoffMs: number;
}

class BillingConfigError extends Error {
  override name = 'ConfigError';
}

function int(raw: string | undefined, name: string, dflt: number, min: number, max: number): number {
  const v = raw === undefined || raw.trim() === '' ? dflt : Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new BillingConfigError(`${name} must be an integer from ${min} to ${max}`);
  return v;
}

export function readBillingConfig(env: Bindings): BillingConfig {
  const currency = (env.REMOTEGPU_CURRENCY ?? 'CNY').toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency))
    throw new BillingConfigError('REMOTEGPU_CURRENCY must be an ISO 4217 code such as CNY');
  let minorDigits: number;
  try {
    minorDigits =
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    throw new BillingConfigError(`REMOTEGPU_CURRENCY: unknown currency ${currency}`);
  }
  const hours = Number(env.REMOTEGPU_MIN_BALANCE_HOURS ?? 1);
  if (!Number.isFinite(hours) || hours < 0 || hours > 720)
    throw new BillingConfigError('REMOTEGPU_MIN_BALANCE_HOURS must be a number from 0 to 720');
  const secret = env.REMOTEGPU_PAYMENT_HOOK_SECRET ?? '';
  if (secret && secret.length < 16)
    throw new BillingConfigError('REMOTEGPU_PAYMENT_HOOK_SECRET must be at least 16 characters');
  return {
    currency,
    minorDigits,
    minBalanceHours: hours,
    lowBalance: int(env.REMOTEGPU_LOW_BALANCE, 'REMOTEGPU_LOW_BALANCE', 1000, 0, 1e12),
    signupCredit: int(env.REMOTEGPU_SIGNUP_CREDIT, 'REMOTEGPU_SIGNUP_CREDIT', 0, 0, 1e15),
    prorateRelease: env.REMOTEGPU_PRORATE_RELEASE === 'true',
    paymentHookSecret: secret || null,
    webhookMaxAttempts: int(env.REMOTEGPU_WEBHOOK_MAX_ATTEMPTS, 'REMOTEGPU_WEBHOOK_MAX_ATTEMPTS', 8, 1, 30),
    webhookBackoffMs: int(env.REMOTEGPU_WEBHOOK_BACKOFF_MS, 'REMOTEGPU_WEBHOOK_BACKOFF_MS', 30_000, 0, 86_400_000),
  };
}

/** A catalogue price (major units, e.g. 1.5 yuan) in integer minor units. */
export function toMinor(config: BillingConfig, major: number): number {
  return Math.round(major * 10 ** config.minorDigits);
}
