// ssh, cp and port-forward: OpenSSH with the CLI's key (registered on the account) and the relay's pinned host keys.
import type { Command } from 'commander';
import type { ApiClient } from '../api.ts';
import type { Context } from '../context.ts';
import { access, listEnvironments, pickEnvironment, hostAlias } from '../envs.ts';
import { CliError, EXIT } from '../errors.ts';
import { t } from '../i18n.ts';
import { info } from '../output.ts';
import { identity, registerKey } from '../ssh/identity.ts';
import { pinHostKeys } from '../ssh/known-hosts.ts';
import { destination, runOpenSsh, sshOptions, type Target } from '../ssh/openssh.ts';
import { intIn } from './envs.ts';

/** The relay learns of a new account key by a pushed route update; give that one message time to land. */
const NEW_KEY_SETTLE_MS = 1500;

async function prepareTarget(ctx: Context, api: ApiClient, ref: string, identityFile?: string): Promise<Target> {
  const all = await listEnvironments(api);
  const env = pickEnvironment(all, ref);
  if (env.status !== 'running')
    throw new CliError(t('err.notRunning', { env: env.name, status: env.status }), EXIT.other, 'invalid_state');
  const alias = hostAlias(env, all);
  const login = await access(api, env);
  const key = identity(ctx.paths, identityFile);
  if (await registerKey(api, key.publicKey)) await new Promise((r) => setTimeout(r, NEW_KEY_SETTLE_MS));
  pinHostKeys(ctx.paths.knownHosts, alias, login.ssh_host_keys);
  return { alias, access: login, identityFile: key.path, knownHostsFile: ctx.paths.knownHosts };
}

/** `rg-<name>:path` or `<env>:path` → [env ref, path]; a local path (no colon before the first slash) → null. */
export function remoteSpec(arg: string): [string, string] | null {
  const colon = arg.indexOf(':');
  if (colon <= 0) return null;
  const slash = arg.indexOf('/');
  if (slash >= 0 && slash < colon) return null;
  return [arg.slice(0, colon), arg.slice(colon + 1)];
}

function exitWith(code: number): void {
  process.exitCode = code;
}

export function registerSshCommands(program: Command, ctx: Context): void {
  program
    .command('ssh')
    .summary(t('cmd.ssh'))
    .description(`${t('cmd.ssh')}\nExample: remotegpu ssh train -- nvidia-smi`)
    .argument('<env>', 'environment id, name or rg-<name>')
    .argument('[command...]', 'a command to run instead of a shell (after --)')
    .option('-i, --identity <file>', 'a private key of your own instead of the CLI key (env REMOTEGPU_IDENTITY)')
    .option('-A', 'forward your SSH agent')
    .action(async (ref: string, command: string[], o: { identity?: string; A?: boolean }) => {
      const tg = await prepareTarget(ctx, ctx.api(), ref, o.identity ?? process.env.REMOTEGPU_IDENTITY);
      const args = [
        '-p',
        String(tg.access.ssh_port),
        ...sshOptions(tg),
        ...(o.A ? ['-A'] : []),
        destination(tg),
        ...(command.length ? ['--', ...command] : []),
      ];
      exitWith(await runOpenSsh('ssh', args));
    });

  program
    .command('cp')
    .summary(t('cmd.cp'))
    .description(
      `${t('cmd.cp')}\nExamples: remotegpu cp data.tar train:/root/  ·  remotegpu cp rg-train:/root/out.log .`,
    )
    .argument('<src>', 'a local path, or <env>:path')
    .argument('<dst>', 'a local path, or <env>:path')
    .option('-r, --recursive', 'copy directories')
    .option('-i, --identity <file>', 'a private key of your own instead of the CLI key')
    .action(async (src: string, dst: string, o: { recursive?: boolean; identity?: string }) => {
      const from = remoteSpec(src);
      const to = remoteSpec(dst);
      if ((from === null) === (to === null))
        throw new CliError('give exactly one remote side: <env>:path (or rg-<name>:path)', EXIT.usage);
      const [ref, path] = (from ?? to)!;
      const tg = await prepareTarget(ctx, ctx.api(), ref, o.identity ?? process.env.REMOTEGPU_IDENTITY);
      const remote = `${destination(tg)}:${path}`;
      const args = [
        '-P',
        String(tg.access.ssh_port),
        ...sshOptions(tg),
        ...(o.recursive ? ['-r'] : []),
        from ? remote : src,
        to ? remote : dst,
      ];
      exitWith(await runOpenSsh('scp', args));
    });

  program
    .command('port-forward')
    .summary(t('cmd.portForward'))
    .description(`${t('cmd.portForward')}\nExample: remotegpu port-forward train 8888:8888`)
    .argument('<env>', 'environment id or name')
    .argument('<ports>', 'LOCAL:REMOTE (one port: the same on both sides)')
    .option('--address <addr>', 'the local address to listen on', '127.0.0.1')
    .option('-i, --identity <file>', 'a private key of your own instead of the CLI key')
    .action(async (ref: string, ports: string, o: { address: string; identity?: string }) => {
      const m = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(ports);
      const port = intIn(1, 65535);
      if (!m) throw new CliError(`not LOCAL:REMOTE: ${ports}`, EXIT.usage);
      let local: number;
      let remote: number;
      try {
        local = port(m[1]!);
        remote = port(m[2] ?? m[1]!);
      } catch (err) {
        throw new CliError(`${ports}: ${(err as Error).message}`, EXIT.usage);
      }
      const tg = await prepareTarget(ctx, ctx.api(), ref, o.identity ?? process.env.REMOTEGPU_IDENTITY);
      info(t('forward.ready', { local, remote, env: tg.alias }));
      const args = [
        '-N',
        '-o',
        'ExitOnForwardFailure=yes',
        '-L',
        `${o.address}:${local}:localhost:${remote}`,
        '-p',
        String(tg.access.ssh_port),
        ...sshOptions(tg),
        destination(tg),
      ];
      exitWith(await runOpenSsh('ssh', args));
    });
}
