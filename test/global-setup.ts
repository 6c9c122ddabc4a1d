// Vitest globalSetup for the edge and integration projects: starts the local service stand-ins in a temp dir.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalServices } from '../dev/src/local-services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    upstashUrl: string;
    upstashToken: string;
    libsqlUrl: string;
    libsqlToken: string;
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'remotegpu-test-'));
  // The database starts empty: schema migrations are applied elsewhere, not by the stand-ins.
  const services = await startLocalServices({ dataDir });
  project.provide('upstashUrl', services.upstashUrl);
  project.provide('upstashToken', services.upstashToken);
  project.provide('libsqlUrl', services.libsqlUrl);
  project.provide('libsqlToken', services.libsqlToken);
  project.provide('redisUrl', services.redisUrl);
  return async () => {
    await services.close();
    await rm(dataDir, { recursive: true, force: true });
  };
}
