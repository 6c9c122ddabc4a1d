// The ready-to-paste SSH command and ~/.ssh/config entry for an environment's login.
import type { AccessInfo } from '../api/types.ts';

export function sshCommand(a: Pick<AccessInfo, 'ssh_port' | 'ssh_username' | 'ssh_host'>): string {
  return `ssh -p ${a.ssh_port} ${a.ssh_username}@${a.ssh_host}`;
}

/** `alias`: the environment's host alias (`sshAlias` in schema, as the CLI's config-ssh and the VS Code link name it). */
export function sshConfig(
  a: Pick<AccessInfo, 'environment_id' | 'ssh_port' | 'ssh_username' | 'ssh_host'>,
  alias = `rg-${a.environment_id}`,
): string {
  return [`Host ${alias}`, `  HostName ${a.ssh_host}`, `  Port ${a.ssh_port}`, `  User ${a.ssh_username}`].join('\n');
}
