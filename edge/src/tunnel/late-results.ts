// Results that reach the edge after their caller gave up waiting: today, container creates slower than the deadline.
import type { Result } from '@remotegpu/schema';
import type { Deps } from '../deps.ts';
import { applyCreateResult, setFailed } from '../environments/create.ts';

export async function applyLateCreate(deps: Deps, environmentId: string, r: Result): Promise<void> {
  if (r.ok) await applyCreateResult(deps, environmentId, r.data, { adoptFailed: true });
  else await setFailed(deps, environmentId, r.error.message);
  console.log(JSON.stringify({ level: 'info', msg: 'late create result applied', env_id: environmentId, ok: r.ok }));
}
