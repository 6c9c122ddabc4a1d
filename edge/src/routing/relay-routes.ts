// The route a relay serves for one environment, and its Redis projection (no secrets), built from database rows.
import { appHostName, tables, type PublicAccessInfo, type Route, type RouteRecord } from '@remotegpu/schema';
import { and, eq, inArray } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { isoReq } from '../lib/time.ts';

type EnvRow = typeof tables.environments.$inferSelect;

function sshCommand(env: Pick<EnvRow, 'ssh_host' | 'ssh_port' | 'ssh_username'>): string {
  return `ssh -p ${env.ssh_port} ${env.ssh_username}@${env.ssh_host}`;
}

function jupyterUrl(deps: Deps, envId: string): string {
  const host = appHostName(envId, 8888, deps.config.appsDomain);
  // Locally (apps under `*.localhost`) the apps share the console's scheme and listen port.
  if (deps.config.appsDomain.endsWith('localhost') && deps.config.publicUrl) {
    const u = new URL(deps.config.publicUrl);
    return `${u.protocol}//${host}${u.port ? `:${u.port}` : ''}/`;
  }
  return `https://${host}/`;
}

export function publicAccessInfo(deps: Deps, env: EnvRow): PublicAccessInfo {
  return {
    environment_id: env.id,
    type: env.type,
    ssh_host: env.ssh_host,
    ssh_port: env.ssh_port,
    ssh_username: env.ssh_username,
    target_ip: env.target_ip,
    jupyter_url: jupyterUrl(deps, env.id),
    created_at: isoReq(env.created_at),
    ssh_command: sshCommand(env),
  };
}

export function routeRecord(deps: Deps, env: EnvRow): RouteRecord {
  return {
    environment_id: env.id,
    type: env.type,
    ip: env.target_ip,
    ssh_port: env.ssh_port,
    host_id: env.host_id,
    access_info: publicAccessInfo(deps, env),
  };
}

function keyHolders(env: EnvRow, operators: { team_id: string; user_id: string }[]): Set<string> {
  return new Set([env.user_id, ...operators.filter((o) => o.team_id === env.team_id).map((o) => o.user_id)]);
}

/** Builds the relay routes for the given environments in four queries. */
export async function buildRoutes(deps: Deps, envs: EnvRow[]): Promise<Route[]> {
  if (!envs.length) return [];
  const imageIds = [...new Set(envs.map((e) => e.image_id).filter((x): x is number => x != null))];
  const machineIds = [...new Set(envs.map((e) => e.physical_machine_id).filter((x): x is number => x != null))];
  const teamIds = [...new Set(envs.map((e) => e.team_id).filter((x): x is string => x != null))];
  // A team environment takes the keys of its team's owners and members too (read-only members do not log in).
  const operators = teamIds.length
    ? await deps.db
        .select({ team_id: tables.teamMembers.team_id, user_id: tables.teamMembers.user_id })
        .from(tables.teamMembers)
        .where(and(inArray(tables.teamMembers.team_id, teamIds), inArray(tables.teamMembers.role, ['owner', 'member'])))
    : [];
  const userIds = [...new Set([...envs.map((e) => e.user_id), ...operators.map((o) => o.user_id)])];
  const [imgs, mach, keys] = await Promise.all([
    imageIds.length ? deps.db.select().from(tables.images).where(inArray(tables.images.id, imageIds)) : [],
    machineIds.length ? deps.db.select().from(tables.machines).where(inArray(tables.machines.id, machineIds)) : [],
    deps.db.select().from(tables.sshKeys).where(inArray(tables.sshKeys.user_id, userIds)),
  ]);
  return envs.map((env) => {
    const image = imgs.find((i) => i.id === env.image_id);
    const machine = mach.find((m) => m.id === env.physical_machine_id);
    let target: Route['target'] = null;
    if (env.type === 'physical' && machine) {
      target = { kind: 'ssh', ip: machine.target_ip, port: machine.ssh_port, host_key: machine.host_key ?? null };
    } else if (env.type === 'container' && env.container_id) {
      target = image?.has_sshd
        ? { kind: 'ssh', ip: env.target_ip, port: 22, host_key: env.target_host_key ?? null }
        : { kind: 'docker', container_id: env.container_id };
    }
    return {
      environment_id: env.id,
      type: env.type,
      user_id: env.user_id,
      ssh_port: env.ssh_port,
      ssh_username: env.ssh_username,
      target_ip: env.target_ip,
      target,
      password_hash: env.password_hash,
      owner_keys: keys.filter((k) => keyHolders(env, operators).has(k.user_id)).map((k) => k.public_key),
      recording: env.recording,
      running: env.status === 'running',
      auto_stop: {
        idle_minutes: env.idle_stop_minutes,
        gpu_idle_threshold_pct: env.gpu_idle_threshold_pct,
        scheduled_at: env.scheduled_stop_at,
      },
    };
  });
}

/** Environments whose routes a relay serves: everything but those being deleted. */
export const SERVED_STATUSES = ['creating', 'running', 'stopped', 'failed'] as const;

export async function loadEnv(deps: Deps, id: string): Promise<EnvRow | undefined> {
  const [row] = await deps.db.select().from(tables.environments).where(eq(tables.environments.id, id));
  return row;
}
