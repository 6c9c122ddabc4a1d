// The command tree (commander): each command's parsing and help; what they do lives in commands/.
import { Command } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { registerAuthCommands } from './commands/auth.ts';
import { registerCompletionCommand } from './commands/completion.ts';
import { registerConfigSshCommand } from './commands/config-ssh.ts';
import { registerEnvironmentCommands } from './commands/envs.ts';
import { registerOpenCommand } from './commands/open.ts';
import { registerSshCommands } from './commands/ssh.ts';
import type { Context } from './context.ts';
import { t } from './i18n.ts';

export function buildProgram(ctx: Context): Command {
  const program = new Command('remotegpu')
    .description(t('program.summary'))
    .version(pkg.version)
    .addHelpText(
      'after',
      `\n${t('exit.codes')}\n\nEnvironment: REMOTEGPU_URL, REMOTEGPU_TOKEN, REMOTEGPU_CONFIG_DIR, REMOTEGPU_IDENTITY.`,
    )
    .showHelpAfterError()
    .exitOverride();
  registerAuthCommands(program, ctx);
  registerEnvironmentCommands(program, ctx);
  registerSshCommands(program, ctx);
  registerConfigSshCommand(program, ctx);
  registerOpenCommand(program, ctx);
  registerCompletionCommand(program);
  // Subcommands throw like the program does, so the one catch in cli.ts picks the exit code.
  for (const c of program.commands) c.exitOverride();
  return program;
}
