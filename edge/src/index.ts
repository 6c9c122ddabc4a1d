// The edge Worker's entry: the Hono app for API, agent and console requests; the HostTunnel and DataShard Durable Objects.
import { buildApp } from './app.ts';
import { runBillingSweep } from './billing/sweep.ts';
import { ready } from './boot.ts';
import { buildDeps } from './deps.ts';
import type { Bindings } from './env.ts';
import { drainUnread } from './lib/drain.ts';

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
  // The cron trigger (wrangler.toml [triggers]): zero-balance stops, rentals, webhook deliveries.
  async scheduled(_controller, env, ctx) {
    const deps = buildDeps(env);
    ctx.waitUntil(
      ready(deps)
        .then(() => runBillingSweep(deps))
        .then(
          (r) =>
            console.log(
              JSON.stringify({
                level: 'info',
                msg: 'billing sweep',
                stopped: r.stopped.length,
                deliveries: r.deliveries,
              }),
            ),
          (err: unknown) =>
            console.error(JSON.stringify({ level: 'error', msg: 'billing sweep failed', error: String(err) })),
        ),
    );
  },
} satisfies ExportedHandler<Bindings>;
