// login (device code or --token), logout, whoami.
import { hostname } from 'node:os';
import type { ApiToken, DeviceCode, DeviceToken, User } from '@remotegpu/schema';
import type { Command } from 'commander';
import { apiClient } from '../api.ts';
import { DEFAULTS, parseUrl, readCredentials, removeCredentials, writeCredentials } from '../config.ts';
import type { Context } from '../context.ts';
import { openUrl } from '../desktop.ts';
import { CliError, EXIT } from '../errors.ts';
import { t } from '../i18n.ts';
import { info, printJson } from '../output.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The host name as the API accepts it (names the token `cli on <host>`). */
function clientName(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 64) || 'cli'
  );
}

async function deviceLogin(url: string): Promise<string> {
  const api = apiClient(url, null);
  const codes = await api.call<DeviceCode>('POST', '/api/v1/cli/device-codes', { client_name: clientName() });
  info(t('login.visit', { url: codes.verification_url, code: codes.user_code }));
  openUrl(codes.verification_url);
  info(t('login.waiting'));
  const deadline = Date.now() + codes.expires_in * 1000;
  while (Date.now() < deadline) {
    await sleep(codes.interval * 1000);
    try {
      return (await api.call<DeviceToken>('POST', '/api/v1/cli/device-codes/token', { device_code: codes.device_code }))
        .token;
    } catch (err) {
      if (err instanceof CliError && err.code === 'authorization_pending') continue;
      if (err instanceof CliError && err.code === 'expired_token') break;
      throw err;
    }
  }
  throw new CliError(t('err.expired'), EXIT.auth, 'expired_token');
}

/** Deletes the API token itself (found by its prefix, which the API lists). */
async function revoke(url: string, token: string): Promise<void> {
  const api = apiClient(url, token);
  const { items } = await api.call<{ items: ApiToken[] }>('GET', '/api/v1/tokens');
  const mine = items.find((i) => token.startsWith(i.prefix));
  if (mine) await api.call('DELETE', `/api/v1/tokens/${mine.id}`);
}

export function registerAuthCommands(program: Command, ctx: Context): void {
  program
    .command('login')
    .summary(t('cmd.login'))
    .description(t('cmd.login'))
    .option('--url <url>', `${t('opt.url')} (env REMOTEGPU_URL)`)
    .option('--token <token>', 'an API token instead of the browser approval (env REMOTEGPU_TOKEN)')
    .action(async (o: { url?: string; token?: string }) => {
      const url = parseUrl(o.url ?? process.env.REMOTEGPU_URL ?? readCredentials(ctx.paths)?.url ?? DEFAULTS.url);
      const given = o.token ?? process.env.REMOTEGPU_TOKEN;
      const token = given ?? (await deviceLogin(url));
      const { user } = await apiClient(url, token).call<{ user: User }>('GET', '/api/v1/me');
      writeCredentials({ url, token, ...(given ? {} : { device: true }) }, ctx.paths);
      info(t('login.done', { url, email: user.email }));
    });

  program
    .command('logout')
    .summary(t('cmd.logout'))
    .description(t('cmd.logout'))
    .action(async () => {
      const creds = readCredentials(ctx.paths);
      // A token the browser login made is the CLI's own: revoke it. One given with --token belongs to the renter.
      if (creds?.device) await revoke(creds.url, creds.token).catch((err: Error) => info(err.message));
      removeCredentials(ctx.paths);
      info(t('logout.done'));
    });

  program
    .command('whoami')
    .summary(t('cmd.whoami'))
    .description(t('cmd.whoami'))
    .option('--json', t('opt.json'))
    .action(async (o: { json?: boolean }) => {
      const api = ctx.api();
      const { user } = await api.call<{ user: User }>('GET', '/api/v1/me');
      if (o.json) printJson({ url: api.url, user });
      else process.stdout.write(`${user.email} (${user.role}) @ ${api.url}\n`);
    });
}
