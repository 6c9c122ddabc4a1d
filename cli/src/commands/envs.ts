// ls, images, market, create, rent, start/stop/restart, rm, rotate-password.
import type { AccessInfo, Environment, Image, Machine } from '@remotegpu/schema';
import { type Command, InvalidArgumentError } from 'commander';
import type { ApiClient } from '../api.ts';
import type { Context } from '../context.ts';
import { hostAlias, listEnvironments, resolveEnvironment, waitCreated } from '../envs.ts';
import { CliError, EXIT } from '../errors.ts';
import { t } from '../i18n.ts';
import { printJson, printTable } from '../output.ts';

/** How long `create` follows an environment the relay is still creating (a big image pull), and how often it looks. */
const CREATE_WAIT = { timeoutMs: 30 * 60_000, intervalMs: 2000 };

/** A commander parser for a whole number in [min, max]; a bad value is a usage error (exit 2). */
export function intIn(min: number, max: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
      throw new InvalidArgumentError(`a whole number from ${min} to ${max}`);
    return Number(raw);
  };
}

async function imageId(api: ApiClient, ref: string): Promise<number> {
  const { items } = await api.call<{ items: Image[] }>('GET', '/api/v1/images');
  const img = items.find((i) => String(i.id) === ref || i.name === ref);
  if (!img) throw new CliError(t('err.imageNotFound', { image: ref }), EXIT.notFound, 'not_found');
  return img.id;
}

async function machineId(api: ApiClient, ref: string): Promise<number> {
  if (/^[1-9]\d{0,15}$/.test(ref)) return Number(ref);
  const { items } = await api.call<{ items: Machine[] }>('GET', '/api/v1/market/machines?page_size=100');
  const m = items.find((i) => i.name === ref);
  if (!m) throw new CliError(t('err.machineNotFound', { machine: ref }), EXIT.notFound, 'not_found');
  return m.id;
}

function printEnv(env: Environment, json: boolean | undefined): void {
  if (json) printJson({ environment: env });
  else process.stdout.write(`${env.id}  ${env.name}  ${env.status}\n`);
}

export function registerEnvironmentCommands(program: Command, ctx: Context): void {
  program
    .command('ls')
    .summary(t('cmd.ls'))
    .description(t('cmd.ls'))
    .option('--json', t('opt.json'))
    .option('-q, --quiet', 'names only, one a line')
    .action(async (o: { json?: boolean; quiet?: boolean }) => {
      const api = ctx.api();
      const all = await listEnvironments(api);
      // With --team, that team's environments (aliases stay unique among all of them).
      const team = await api.team();
      const shown = team ? all.filter((e) => e.team_id === team) : all;
      if (o.quiet) return void process.stdout.write(shown.map((e) => `${e.name}\n`).join(''));
      if (o.json) return printJson({ items: shown.map((e) => ({ ...e, ssh_alias: hostAlias(e, all) })) });
      printTable(
        ['ID', 'NAME', 'TYPE', 'STATUS', 'GPUS', 'CPUS', 'MEM_GB', 'SSH'],
        shown.map((e) => [e.id, e.name, e.type, e.status, e.gpu_count, e.cpu_cores, e.memory_gb, hostAlias(e, all)]),
      );
    });

  program
    .command('images')
    .summary(t('cmd.images'))
    .description(t('cmd.images'))
    .option('--json', t('opt.json'))
    .action(async (o: { json?: boolean }) => {
      const r = await ctx.api().call<{ items: Image[] }>('GET', '/api/v1/images');
      if (o.json) return printJson(r);
      printTable(
        ['ID', 'NAME', 'PRICE/H', 'DESCRIPTION'],
        r.items.map((i) => [i.id, i.name, i.hourly_price, i.description]),
      );
    });

  program
    .command('market')
    .summary(t('cmd.market'))
    .description(t('cmd.market'))
    .option('--gpu-model <model>', 'only this GPU model')
    .option('--region <region>', 'only this region')
    .option('--min-gpus <n>', 'at least this many GPUs', intIn(0, 64))
    .option('--all', 'allocated and maintenance machines too')
    .option('--json', t('opt.json'))
    .action(async (o: { gpuModel?: string; region?: string; minGpus?: number; all?: boolean; json?: boolean }) => {
      const q = new URLSearchParams({ page_size: '100' });
      if (!o.all) q.set('status', 'available');
      if (o.gpuModel) q.set('gpu_model', o.gpuModel);
      if (o.region) q.set('region', o.region);
      if (o.minGpus !== undefined) q.set('min_gpus', String(o.minGpus));
      const r = await ctx.api().call<{ items: Machine[]; total: number }>('GET', `/api/v1/market/machines?${q}`);
      if (o.json) return printJson(r);
      printTable(
        ['ID', 'NAME', 'REGION', 'GPU', 'GPUS', 'CPUS', 'MEM_GB', 'PRICE/MONTH', 'STATUS'],
        r.items.map((m) => [
          m.id,
          m.name,
          m.region,
          m.gpu_model,
          m.gpu_count,
          m.cpu_cores,
          m.memory_gb,
          m.monthly_price,
          m.status,
        ]),
      );
    });

  program
    .command('create')
    .summary(t('cmd.create'))
    .description(t('cmd.create'))
    .argument('<name>', 'a name for the environment (its SSH alias is rg-<name>)')
    .requiredOption('--image <image>', 'image id or name (see `remotegpu images`)')
    .option('--gpus <n>', 'GPU count', intIn(0, 8), 0)
    .option('--gpu-model <model>', 'GPU model, as nvidia-smi names it (see GET /api/v1/market/gpus)')
    .option('--cpu <n>', 'CPU cores', intIn(1, 256), 1)
    .option('--memory <gb>', 'memory in GiB', intIn(1, 4096), 1)
    .option('--recording', 'record SSH sessions')
    .option('--no-wait', 'return at once while a slow image pull keeps it `creating`')
    .option('--json', t('opt.json'))
    .action(
      async (
        name: string,
        o: {
          image: string;
          gpus: number;
          gpuModel?: string;
          cpu: number;
          memory: number;
          recording?: boolean;
          wait: boolean;
          json?: boolean;
        },
      ) => {
        const api = ctx.api();
        const body = {
          name,
          image_id: await imageId(api, o.image),
          gpu_count: o.gpus,
          ...(o.gpuModel ? { gpu_model: o.gpuModel } : {}),
          cpu_cores: o.cpu,
          memory_gb: o.memory,
          ...(o.recording ? { recording: true } : {}),
        };
        const r = await api.call<{ environment: Environment }>('POST', '/api/v1/environments', body);
        const env = o.wait ? await waitCreated(api, r.environment, CREATE_WAIT) : r.environment;
        printEnv(env, o.json);
      },
    );

  program
    .command('rent')
    .summary(t('cmd.rent'))
    .description(t('cmd.rent'))
    .argument('<machine>', 'machine id or name (see `remotegpu market`)')
    .option('--name <name>', 'a name for the environment')
    .option('--json', t('opt.json'))
    .action(async (ref: string, o: { name?: string; json?: boolean }) => {
      const api = ctx.api();
      const id = await machineId(api, ref);
      const r = await api.call<{ environment: Environment; access: AccessInfo }>(
        'POST',
        `/api/v1/market/machines/${id}/allocate`,
        o.name ? { name: o.name } : {},
      );
      printEnv(r.environment, o.json);
    });

  for (const [action, key] of [
    ['start', 'cmd.start'],
    ['stop', 'cmd.stop'],
    ['restart', 'cmd.restart'],
  ] as const) {
    program
      .command(action)
      .summary(t(key))
      .description(t(key))
      .argument('<env>', 'environment id or name')
      .option('--json', t('opt.json'))
      .action(async (ref: string, o: { json?: boolean }) => {
        const api = ctx.api();
        const { env } = await resolveEnvironment(api, ref);
        const r = await api.call<{ environment: Environment }>('POST', `/api/v1/environments/${env.id}/${action}`);
        printEnv(r.environment, o.json);
      });
  }

  program
    .command('rm')
    .summary(t('cmd.rm'))
    .description(t('cmd.rm'))
    .argument('<env>', 'environment id or name')
    .action(async (ref: string) => {
      const api = ctx.api();
      const { env } = await resolveEnvironment(api, ref);
      await api.call('DELETE', `/api/v1/environments/${env.id}`);
      process.stdout.write(`${env.id}\n`);
    });

  program
    .command('rotate-password')
    .summary(t('cmd.rotate'))
    .description(t('cmd.rotate'))
    .argument('<env>', 'environment id or name')
    .option('--json', t('opt.json'))
    .action(async (ref: string, o: { json?: boolean }) => {
      const api = ctx.api();
      const { env } = await resolveEnvironment(api, ref);
      const r = await api.call<AccessInfo>('POST', `/api/v1/environments/${env.id}/rotate-password`);
      if (o.json) printJson(r);
      else process.stdout.write(`${r.ssh_password}\n`);
    });
}
