// The command tree (commander): each command's parsing and help; what they do lives in commands/.
import { Command } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { registerAuthCommands } from './commands/auth.ts';
import { registerCompletionCommand } from './commands/completion.ts';
import { registerConfigSshCommand } from './commands/config-ssh.ts';
import { registerEnvironmentCommands } from './commands/envs.ts';
import { registerOpenCommand } from './commands/open.ts';
import { registerSshCommands } from './commands/ssh.ts';
import { registerTeamCommands } from './commands/teams.ts';
import type { Context } from './context.ts';
import { t } from './i18n.ts';

export function buildProgram(ctx: Context): Command {
  const program = new Command('remotegpu')
    .description(t('program.summary'))
    .version(pkg.version)
    .addHelpText(
      'after',
      `\n${t('exit.codes')}\n\nEnvironment: REMOTEGPU_URL, REMOTEGPU_TOKEN, REMOTEGPU_TEAM, REMOTEGPU_CONFIG_DIR, REMOTEGPU_IDENTITY.`,
    )
    .option('--team <team>', t('opt.team'))
    .showHelpAfterError()
    .exitOverride();
  registerAuthCommands(program, ctx);
  registerEnvironmentCommands(program, ctx);
  registerSshCommands(program, ctx);
  registerConfigSshCommand(program, ctx);
  registerOpenCommand(program, ctx);
  registerTeamCommands(program, ctx);
  registerCompletionCommand(program);
  // The global --team (else REMOTEGPU_TEAM) applies to whichever command runs.
  program.hook('preAction', () => {
    ctx.team = program.opts<{ team?: string }>().team;
  });
  // Subcommands throw like the program does, so the one catch in cli.ts picks the exit code.
  const overrideAll = (cmd: Command): void => {
    for (const c of cmd.commands) {
      c.exitOverride();
      overrideAll(c);
    }
  };
  overrideAll(program);
  return program;
}
