// The edge Worker's entry: the Hono app for API, agent and console requests; the HostTunnel Durable Object.
import { buildApp } from './app.ts';
import type { Bindings } from './env.ts';
import { drainUnread } from './lib/drain.ts';

export { HostTunnel } from './tunnel/host-tunnel.ts';

const app = buildApp();

export default {
  async fetch(request, env, ctx) {
    const res = await app.fetch(request, env, ctx);
    // Any answer given before the body was read (401, 403, 404, 413...): read the rest first, for every route at once.
    await drainUnread(request);
    return res;
  },
} satisfies ExportedHandler<Bindings>;
