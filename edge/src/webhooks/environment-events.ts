// environment.* webhook events from the places environments change (create, stop, fail, idle stop).
import type { tables } from '@remotegpu/schema';
import type { Deps } from '../deps.ts';
import { accountOfEnv } from '../billing/service.ts';
import { emitEvent } from './emit.ts';

type EnvRow = typeof tables.environments.$inferSelect;
type EnvEvent =
  | 'environment.created'
  | 'environment.stopped'
  | 'environment.idle_stopped'
  | 'environment.stop_warning'
  | 'environment.failed';

/**
 * Queues an environment event for its owner's webhooks; never throws (a notice must not fail the change itself).
 * The relay's idle stop and stop warnings (audit events) come here through host-events.ts.
 */
export async function notifyEnvironment(
  deps: Deps,
  env: EnvRow,
  event: EnvEvent,
  reason: string | null = null,
  at = Date.now(),
): Promise<void> {
  try {
    await emitEvent(
      deps,
      accountOfEnv(env),
      event,
      { environment_id: env.id, name: env.name, type: env.type, status: env.status, reason },
      at,
    );
  } catch (err) {
    console.log(
      JSON.stringify({ level: 'error', msg: 'webhook event not queued', env_id: env.id, event, error: String(err) }),
    );
  }
}
