// config-ssh: the managed block in ~/.ssh/config (a Host rg-<name> per environment), --dry-run diff, --remove.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { DEFAULTS, ensureDir } from '../config.ts';
import type { Context } from '../context.ts';
import { access, hostAlias, listEnvironments } from '../envs.ts';
import { CliError, EXIT } from '../errors.ts';
import { t } from '../i18n.ts';
import { info } from '../output.ts';
import { lineDiff, managedBlock, withBlock, withoutBlock, type HostEntry } from '../ssh-config.ts';
import { identity, registerKey } from '../ssh/identity.ts';
import { pinHostKeys } from '../ssh/known-hosts.ts';

export function registerConfigSshCommand(program: Command, ctx: Context): void {
  program
    .command('config-ssh')
    .summary(t('cmd.configSsh'))
    .description(`${t('cmd.configSsh')}\nThen: ssh rg-<name>, scp, rsync, VS Code Remote-SSH.`)
    .option('--dry-run', 'print the change as a diff, write nothing')
    .option('--remove', 'take the RemoteGPU block out of the file')
    .option('--ssh-config <file>', 'the file to edit', ctx.paths.sshConfig)
    .option('-i, --identity <file>', 'a private key of your own instead of the CLI key')
    .action(async (o: { dryRun?: boolean; remove?: boolean; sshConfig: string; identity?: string }) => {
      const file = o.sshConfig;
      const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
      let next: string;
      let count = 0;
      if (o.remove) next = withoutBlock(current);
      else {
        const api = ctx.api();
        const key = identity(ctx.paths, o.identity ?? process.env.REMOTEGPU_IDENTITY);
        if (!o.dryRun) await registerKey(api, key.publicKey);
        const all = (await listEnvironments(api)).filter((e) => e.status !== 'deleting' && e.status !== 'failed');
        const hosts: HostEntry[] = [];
        for (const env of all) {
          const alias = hostAlias(env, all);
          const a = await access(api, env);
          if (!o.dryRun) pinHostKeys(ctx.paths.knownHosts, alias, a.ssh_host_keys);
          hosts.push({
            alias,
            hostName: a.ssh_host,
            port: a.ssh_port,
            user: a.ssh_username || DEFAULTS.sshUser,
            identityFile: key.path,
            knownHostsFile: ctx.paths.knownHosts,
          });
        }
        count = hosts.length;
        try {
          next = withBlock(current, managedBlock(hosts));
        } catch (err) {
          throw new CliError(`${file}: ${(err as Error).message}`, EXIT.other);
        }
      }
      if (o.dryRun) {
        process.stdout.write(lineDiff(current, next, file));
        return;
      }
      if (next === current) return info(t('configSsh.unchanged', { file }));
      ensureDir(dirname(file));
      writeFileSync(file, next, { mode: 0o600 });
      info(o.remove ? t('configSsh.removed', { file }) : t('configSsh.written', { file, count }));
    });
}
