// SSH authentication: password, owner public keys (signature verified) and keyboard-interactive, with lockouts and audit.
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ParsedKey, PublicKeyAuthContext } from 'ssh2';
import { addressBucket, type Route } from '@remotegpu/schema';
import type { AuditSink, Logger, RouteTable } from '../contracts.ts';
import type { Lockouts } from './lockouts.ts';
import { verifyPassword } from './password.ts';
import { resolve } from './resolve.ts';

export interface AuthDeps {
  routes: RouteTable;
  audit: AuditSink;
  /**
   * Failures per source (an IPv4 address or an IPv6 /64) over all environments (catches scanning), and per source and
   * environment (never per environment alone: that would let anyone lock the owner out).
   */
  lockouts: Lockouts;
  log: Logger;
}

export interface ConnMeta {
  connId: string;
  sourceIp: string;
  /** The environment port the connection arrived on, or null for the shared port. */
  envPort: number | null;
  /** The SSH worker process serving the connection (0-based), when the gateway runs workers; in audit details. */
  worker?: number;
}

export interface Authenticated {
  route: Route;
  login: string;
  username: string;
  method: string;
}

const METHODS: ('publickey' | 'password' | 'keyboard-interactive')[] = [
  'publickey',
  'password',
  'keyboard-interactive',
];
/** Like OpenSSH's MaxAuthTries: counted failures per connection before it is dropped. */
const MAX_TRIES_PER_CONNECTION = 6;

const parsedKeys = new WeakMap<Route, ParsedKey[]>();
function ownerKeys(route: Route): ParsedKey[] {
  let keys = parsedKeys.get(route);
  if (!keys) {
    keys = [];
    for (const line of route.owner_keys) {
      const k = ssh2.utils.parseKey(line);
      if (!(k instanceof Error)) keys.push(Array.isArray(k) ? k[0]! : k);
    }
    parsedKeys.set(route, keys);
  }
  return keys;
}

function findKey(route: Route | undefined, ctx: PublicKeyAuthContext): ParsedKey | undefined {
  if (!route) return undefined;
  return ownerKeys(route).find((k) => k.type === ctx.key.algo && k.getPublicSSH().equals(ctx.key.data));
}

/** Wires `client`'s authentication; `onSuccess` runs once with the environment and login user. */
export function handleAuthentication(
  client: Connection,
  meta: ConnMeta,
  deps: AuthDeps,
  onSuccess: (a: Authenticated) => void,
): void {
  let tries = 0;
  const record = (
    route: Route | undefined,
    username: string,
    status: 'success' | 'failure' | 'locked',
    method: string,
    reason: string,
  ) =>
    deps.audit.record({
      timestamp: new Date().toISOString(),
      environment_id: route?.environment_id ?? null,
      type: route?.type ?? null,
      event: 'ssh_login',
      source_ip: meta.sourceIp,
      username,
      status,
      detail: {
        method,
        reason,
        conn_id: meta.connId,
        port: meta.envPort,
        ...(meta.worker === undefined ? {} : { worker: meta.worker }),
      },
    });

  client.on('authentication', (ctx: AuthContext) => {
    void authenticate(ctx).catch((err: unknown) => {
      deps.log.error('ssh auth error', { conn_id: meta.connId, error: String(err) });
      ctx.reject(METHODS);
    });
  });

  async function authenticate(ctx: AuthContext): Promise<void> {
    const username = ctx.username;
    if (ctx.method === 'none') return ctx.reject(METHODS);
    if (ctx.method === 'hostbased') return ctx.reject(METHODS);
    const res = resolve(deps.routes, meta.envPort, username);
    const sourceKey = addressBucket(meta.sourceIp);
    const pairKey = `${sourceKey}|${res.envKey}`;
    if (await deps.lockouts.isLocked(sourceKey, pairKey)) {
      record(res.route, username, 'locked', ctx.method, 'locked');
      return ctx.reject(METHODS);
    }
    const fail = async (reason: string, counted = true) => {
      record(res.route, username, 'failure', ctx.method, reason);
      if (!counted) return ctx.reject(METHODS);
      // Counted before the client hears the rejection, so its next attempt sees the lock whichever worker gets it.
      const locked = await deps.lockouts.fail(sourceKey, pairKey);
      ctx.reject(METHODS);
      if (locked.source || locked.pair) {
        deps.log.warn('ssh login locked out', {
          conn_id: meta.connId,
          env_id: res.route?.environment_id,
          source: sourceKey,
          scope: locked.source ? 'source' : 'source+environment',
        });
      }
      if (++tries >= MAX_TRIES_PER_CONNECTION) client.end();
    };
    const succeed = (route: Route) => {
      deps.lockouts.succeed(pairKey);
      record(route, username, 'success', ctx.method, 'ok');
      // Channel handlers must be in place before accept(): ssh2 emits 'ready' synchronously within it.
      onSuccess({ route, login: res.login, username, method: ctx.method });
      ctx.accept();
    };
    // A route that changed while the slow hash ran (rotation) must not accept the old password.
    const current = () => (res.route ? resolve(deps.routes, meta.envPort, username).route : undefined);

    if (ctx.method === 'password' || ctx.method === 'keyboard-interactive') {
      const password = ctx.method === 'password' ? ctx.password : await promptPassword(ctx);
      if (password === null) return fail('no_answer', false);
      const ok = await verifyPassword(password, res.route?.password_hash ?? null);
      const now = current();
      if (!username) return fail('empty_username');
      if (!password) return fail('empty_password');
      if (!ok || !res.route || !now || now.password_hash !== res.route.password_hash)
        return fail(res.route ? 'bad_password' : 'unknown');
      return succeed(now);
    }
    if (ctx.method === 'publickey') {
      const key = findKey(res.route, ctx);
      // An offer of a key the owner did not register is not counted: clients offer every key they hold.
      if (!username || !key || !res.route) return fail(res.route ? 'unknown_key' : 'unknown', false);
      if (!ctx.signature || !ctx.blob) return ctx.accept(); // "this key would do": the client signs next
      if (key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return fail('bad_signature');
      const now = current();
      if (!now || !findKey(now, ctx)) return fail('unknown_key');
      return succeed(now);
    }
    return (ctx as { reject(m: typeof METHODS): void }).reject(METHODS);
  }
}

function promptPassword(ctx: AuthContext & { method: 'keyboard-interactive' }): Promise<string | null> {
  return new Promise((resolvePrompt) => {
    ctx.prompt([{ prompt: 'Password: ', echo: false }], (answers) => resolvePrompt(answers[0] ?? null));
  });
}
