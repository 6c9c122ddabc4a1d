// Postings through the ledger with the platform's currency, and what follows a balance change (low/zero notices).
import { tables } from '@remotegpu/schema';
import { and, eq, inArray, isNull, or, type SQL } from 'drizzle-orm';
import type { AuthUser } from '../auth/service.ts';
import type { Deps } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import { isoReq } from '../lib/time.ts';
import { emitEvent } from '../webhooks/emit.ts';
import { LedgerError, post, type Posted, type Posting } from './ledger.ts';

/**
 * The account whose balance a user spends on their own things: the user's id (a renter's own account is a team of
 * one whose balance is keyed by the user, as before teams). Every billing path goes through here or accountOfEnv.
 */
export function accountOf(user: Pick<AuthUser, 'id'>): string {
  return user.id;
}

/** The account an environment bills: its team's (the team's id) when it belongs to one, else its creator's. */
export function accountOfEnv(env: { user_id: string; team_id: string | null }): string {
  return env.team_id ?? accountOf({ id: env.user_id });
}

/** Environments billed to any of these accounts (a team's, or a user's own that belong to no team). */
export function envsOfAccounts(accountIds: string[]): SQL {
  const e = tables.environments;
  return or(inArray(e.team_id, accountIds), and(isNull(e.team_id), inArray(e.user_id, accountIds))) as SQL;
}

/**
 * The account an admin names in `/admin/accounts/:id/...`: a user (their own account) or a shared team (its
 * account is its id); 404 `not_found` otherwise. `userId` is the user's, for the audit record.
 */
export async function adminAccount(deps: Deps, id: string): Promise<{ account: string; userId: string | null }> {
  const [user] = await deps.db.select({ id: tables.users.id }).from(tables.users).where(eq(tables.users.id, id));
  if (user) return { account: accountOf(user), userId: user.id };
  const [team] = await deps.db
    .select({ id: tables.teams.id })
    .from(tables.teams)
    .where(and(eq(tables.teams.id, id), isNull(tables.teams.personal_of)));
  if (team) return { account: team.id, userId: null };
  throw notFound('account');
}

/** Posts an entry in the platform's currency; 422 `invalid_amount` when its sign does not fit its kind. */
export async function postEntry(
  deps: Deps,
  p: Omit<Posting, 'currency'>,
  extra?: Parameters<typeof post>[2],
): Promise<Posted> {
  let r: Posted;
  try {
    r = await post(deps.database.client, { ...p, currency: deps.config.billing.currency }, extra);
  } catch (err) {
    if (err instanceof LedgerError) throw new ApiError(422, 'invalid_amount', err.message);
    throw err;
  }
  if (r.applied && !r.duplicate) await afterBalanceChange(deps, p.account_id, r.balance, p.at ?? Date.now());
  return r;
}

/**
 * balance.low once when the balance drops under the threshold, balance.zero once when it reaches zero; a balance
 * lifted back above the threshold re-arms both. (Stopping containers at zero is the sweep's: billing/sweep.ts.)
 */
async function afterBalanceChange(deps: Deps, accountId: string, balance: number, at: number): Promise<void> {
  const [row] = await deps.db
    .select()
    .from(tables.accountBalances)
    .where(eq(tables.accountBalances.account_id, accountId));
  if (!row) return;
  const b = deps.config.billing;
  const data = { account_id: accountId, balance, currency: b.currency, at: isoReq(at) };
  if (balance <= 0 && row.zero_notified_at == null) {
    await deps.db
      .update(tables.accountBalances)
      .set({ zero_notified_at: at, low_notified_at: row.low_notified_at ?? at })
      .where(eq(tables.accountBalances.account_id, accountId));
    await emitEvent(deps, accountId, 'balance.zero', data, at);
  } else if (balance > 0 && balance < b.lowBalance && row.low_notified_at == null) {
    await deps.db
      .update(tables.accountBalances)
      .set({ low_notified_at: at })
      .where(eq(tables.accountBalances.account_id, accountId));
    await emitEvent(deps, accountId, 'balance.low', { ...data, threshold: b.lowBalance }, at);
  } else if (balance >= b.lowBalance && (row.low_notified_at != null || row.zero_notified_at != null)) {
    await deps.db
      .update(tables.accountBalances)
      .set({ low_notified_at: null, zero_notified_at: null })
      .where(eq(tables.accountBalances.account_id, accountId));
  }
}

export function ledgerJson(e: typeof tables.ledgerEntries.$inferSelect) {
  return {
    id: e.id,
    kind: e.kind,
    amount: e.amount,
    balance_after: e.balance_after,
    currency: e.currency,
    environment_id: e.environment_id,
    description: e.description,
    created_at: isoReq(e.created_at),
  };
}

/** One CSV field: quoted, quotes doubled, and a leading formula character neutralised for spreadsheets. */
function csvField(v: string | number | null, text = false): string {
  let s = v == null ? '' : String(v);
  if (text && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

export function ledgerCsv(rows: ReturnType<typeof ledgerJson>[], minorDigits: number): string {
  const head = ['id', 'created_at', 'kind', 'amount', 'balance_after', 'currency', 'environment_id', 'description'];
  const major = (n: number) => (n / 10 ** minorDigits).toFixed(minorDigits);
  const lines = rows.map((r) =>
    [r.id, r.created_at, r.kind, major(r.amount), major(r.balance_after), r.currency, r.environment_id, r.description]
      .map((v, i) => csvField(v, i === 7))
      .join(','),
  );
  return `${[head.join(','), ...lines].join('\r\n')}\r\n`;
}

/** The operator's welcome credit (REMOTEGPU_SIGNUP_CREDIT) for a new account; nothing when it is 0. */
export async function grantSignupCredit(deps: Deps, accountId: string): Promise<void> {
  const amount = deps.config.billing.signupCredit;
  if (amount <= 0) return;
  await postEntry(deps, {
    account_id: accountId,
    kind: 'credit',
    amount,
    idempotency_key: `signup:${accountId}`,
    description: 'sign-up credit',
  });
}
