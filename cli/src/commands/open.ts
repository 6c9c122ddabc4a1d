// open <env> --vscode (the Remote-SSH URI for rg-<name>) or --app PORT (a one-use link to the app, as its owner).
import type { AppLink } from '@remotegpu/schema';
import type { Command } from 'commander';
import type { Context } from '../context.ts';
import { openUrl } from '../desktop.ts';
import { resolveEnvironment } from '../envs.ts';
import { CliError, EXIT } from '../errors.ts';
import { t } from '../i18n.ts';
import { intIn } from './envs.ts';

export function registerOpenCommand(program: Command, ctx: Context): void {
  program
    .command('open')
    .summary(t('cmd.open'))
    .description(`${t('cmd.open')}\n--vscode needs \`remotegpu config-ssh\` first (VS Code reads ~/.ssh/config).`)
    .argument('<env>', 'environment id or name')
    .option('--vscode', 'VS Code Remote-SSH on /root')
    .option('--app <port>', 'an app port, e.g. 8888 for Jupyter', intIn(1, 65535))
    .option('--path <path>', 'with --app: the path to open', '/')
    .action(async (ref: string, o: { vscode?: boolean; app?: number; path: string }) => {
      if (Boolean(o.vscode) === (o.app !== undefined)) throw new CliError('give --vscode or --app PORT', EXIT.usage);
      if (!o.path.startsWith('/')) throw new CliError('--path must start with /', EXIT.usage);
      const api = ctx.api();
      const { env, alias } = await resolveEnvironment(api, ref);
      const url =
        o.app === undefined
          ? `vscode://vscode-remote/ssh-remote+${alias}/root`
          : (await api.call<AppLink>('POST', `/api/v1/environments/${env.id}/apps/${o.app}/link`, { path: o.path }))
              .url;
      process.stdout.write(`${url}\n`);
      openUrl(url);
    });
}
