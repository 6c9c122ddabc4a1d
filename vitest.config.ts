// Test projects: pure unit tests in Node, edge tests inside workerd, integration suites that need services.
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// wrangler.toml serves web/dist; before the console is built, give it a placeholder page.
if (!existsSync('web/dist/index.html')) {
  mkdirSync('web/dist', { recursive: true });
  writeFileSync(
    'web/dist/index.html',
    '<!doctype html><title>RemoteGPU</title><p>The console is not built: npm run build -w web</p>',
  );
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'node',
          include: ['{schema,dev,relay-agent,edge,web,cli}/src/**/*.test.ts'],
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              cf: false,
              bindings: {
                UPSTASH_REDIS_REST_URL: inject('upstashUrl'),
                UPSTASH_REDIS_REST_TOKEN: inject('upstashToken'),
                LIBSQL_URL: inject('libsqlUrl'),
                LIBSQL_AUTH_TOKEN: inject('libsqlToken'),
                REMOTEGPU_SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789abcdef',
                REMOTEGPU_ADMIN_EMAIL: 'admin@example.test',
                REMOTEGPU_ADMIN_PASSWORD: 'admin-password-for-tests',
                REMOTEGPU_COMMAND_TIMEOUT_MS: '4000',
                // Money (issue 16): the payment hook on, webhook retries fast enough for a test.
                REMOTEGPU_PAYMENT_HOOK_SECRET: 'payment-hook-secret-for-tests',
                REMOTEGPU_WEBHOOK_MAX_ATTEMPTS: '3',
                // Every registered renter starts with 10,000,000.00: the balance guard never gets in other suites' way.
                REMOTEGPU_SIGNUP_CREDIT: '1000000000',
                REMOTEGPU_PRORATE_RELEASE: 'true',
                REMOTEGPU_WEBHOOK_BACKOFF_MS: '100',
                // Saved images and retained data (issue 15) for the teams suite; no registry is contacted by the edge.
                REMOTEGPU_REGISTRY: '127.0.0.1:5999',
                REMOTEGPU_DATA_RETENTION_DAYS: '7',
              },
            },
          })),
        ],
        test: {
          name: 'edge',
          include: ['edge/test/**/*.test.ts'],
          // A suite's first request migrates the database and loads the whole Worker: seconds on a busy 2-core machine.
          testTimeout: 20_000,
          globalSetup: ['./test/global-setup.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          environment: 'node',
          include: [
            'test/integration/**/*.test.ts',
            'dev/test/**/*.test.ts',
            'relay-agent/test/**/*.test.ts',
            'cli/test/**/*.test.ts',
            // The fault suite (issue 17): real processes, each fault injected and healed by its test.
            'test/faults/**/*.test.ts',
          ],
          // The test services first (private dockerd, images, loopback sshd), then the stand-ins.
          globalSetup: ['./test/services-up.ts', './test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          // Builds web/dist when it is older than the console's sources; each suite starts its own stack.
          globalSetup: ['./test/services-up.ts', './test/e2e/build-web.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
