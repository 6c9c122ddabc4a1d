// The edge Worker's entry: the Hono app for API, agent and console requests; the HostTunnel Durable Object.
import { buildApp } from './app.ts';

export { HostTunnel } from './tunnel/host-tunnel.ts';

const app = buildApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<import('./env.ts').Bindings>;
