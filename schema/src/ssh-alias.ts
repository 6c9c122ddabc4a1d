// The host alias of an environment in `~/.ssh/config` (`rg-<name>`): one rule for the console's VS Code link and the CLI's config-ssh.

/** `rg-` + the name lower-cased with every run of other characters as one `-`; the id when nothing is left. */
export function sshAlias(env: { id: string; name?: string | null }): string {
  const safe = (env.name ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return `rg-${safe || env.id}`;
}

/** The URI that opens VS Code's Remote-SSH on an environment (after `remotegpu config-ssh` wrote its alias). */
export function vscodeRemoteUri(env: { id: string; name?: string | null }, folder = '/root'): string {
  return `vscode://vscode-remote/ssh-remote+${sshAlias(env)}${folder}`;
}
