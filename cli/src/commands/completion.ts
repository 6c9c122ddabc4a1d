// completion bash|zsh: scripts made from the program's own commands and options; environment names from `ls -q`.
import type { Command } from 'commander';
import { CliError, EXIT } from '../errors.ts';
import { t } from '../i18n.ts';

/** Commands whose first argument is an environment. */
const ENV_COMMANDS = ['ssh', 'start', 'stop', 'restart', 'rm', 'rotate-password', 'port-forward', 'open'];

interface Spec {
  name: string;
  summary: string;
  options: string[];
}

function specs(program: Command): Spec[] {
  return program.commands.map((c) => ({
    name: c.name(),
    summary: c.summary() || c.description(),
    options: [...c.options.flatMap((o) => [o.short, o.long].filter((x): x is string => Boolean(x))), '--help'],
  }));
}

function bashScript(program: Command): string {
  const s = specs(program);
  const cases = s.map((c) => `    ${c.name}) opts="${c.options.join(' ')}" ;;`).join('\n');
  return `# bash completion for remotegpu: source <(remotegpu completion bash)
_remotegpu() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" opts=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${s.map((c) => c.name).join(' ')} --help --version" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ "$COMP_CWORD" -eq 2 ]; then
    case "\${COMP_WORDS[1]}" in
      ${ENV_COMMANDS.join('|')}) COMPREPLY=($(compgen -W "$(remotegpu ls -q 2>/dev/null)" -- "$cur")) ;;
      completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
    esac
  fi
}
complete -o default -F _remotegpu remotegpu
`;
}

function zshScript(program: Command): string {
  const s = specs(program);
  // `_describe` items are `name:description`; a colon inside the name would need a backslash (ours have none).
  const quote = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
  const cmds = s.map((c) => `    ${quote(`${c.name.replace(/:/g, '\\:')}:${c.summary}`)}`).join('\n');
  const cases = s.map((c) => `    ${c.name}) opts=(${c.options.join(' ')}) ;;`).join('\n');
  return `#compdef remotegpu
# zsh completion for remotegpu: source <(remotegpu completion zsh), or save as _remotegpu on your $fpath
_remotegpu() {
  local -a cmds opts
  cmds=(
${cmds}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' cmds
    return
  fi
  case $words[2] in
${cases}
  esac
  if [[ $words[CURRENT] == -* ]]; then
    compadd -- $opts
  elif (( CURRENT == 3 )); then
    case $words[2] in
      ${ENV_COMMANDS.join('|')}) compadd -- \${(f)"$(remotegpu ls -q 2>/dev/null)"} ;;
      completion) compadd -- bash zsh ;;
      *) _files ;;
    esac
  else
    _files
  fi
}
if (( $+functions[compdef] )); then compdef _remotegpu remotegpu; fi
`;
}

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .summary(t('cmd.completion'))
    .description(
      `${t('cmd.completion')}\nbash: source <(remotegpu completion bash)   zsh: source <(remotegpu completion zsh)`,
    )
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(bashScript(program));
      else if (shell === 'zsh') process.stdout.write(zshScript(program));
      else throw new CliError(`no completion for ${shell}: bash or zsh`, EXIT.usage);
    });
}
