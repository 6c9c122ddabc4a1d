// The edge Worker's entry: the Hono app for API, agent and console requests; the cron; the HostTunnel and DataShard Durable Objects.
import { buildApp } from './app.ts';
import { runBillingCron } from './billing/sweep.ts';
import type { Bindings } from './env.ts';
import { drainUnread } from './lib/drain.ts';
import { runScheduled } from './scheduled.ts';

export { DataShard } from './tunnel/data-shard.ts';
export { HostTunnel } from './tunnel/host-tunnel.ts';

const app = buildApp();

export default {
  async fetch(request, env, ctx) {
    const res = await app.fetch(request, env, ctx);
    // Any answer given before the body was read (401, 403, 404, 413...): read the rest first, for every route at once.
    await drainUnread(request);
    return res;
  },
  // Awaited, not waitUntil: a failed run shows as a failed cron invocation in Cloudflare's dashboard.
  // Every minute the billing sweep; every 5 minutes the repairs of scheduled.ts (wrangler.toml [triggers]).
  async scheduled(controller, env) {
    if (controller.cron === '*/5 * * * *') await runScheduled(env);
    else await runBillingCron(env);
  },
} satisfies ExportedHandler<Bindings>;
