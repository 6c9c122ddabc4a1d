// The Worker's cron (wrangler.toml [triggers]): periodic repairs that no request drives.
import type { Bindings } from './env.ts';
import { ready } from './boot.ts';
import { buildDeps } from './deps.ts';
import { reconcileDns } from './dns/sync.ts';

/** Runs every cron tick: the SSH names' DNS reconcile (a no-op when the edge does not manage that DNS). */
export async function runScheduled(env: Bindings): Promise<void> {
  const deps = buildDeps(env);
  if (!deps.config.sshDns) return;
  await ready(deps);
  await reconcileDns(deps);
}
