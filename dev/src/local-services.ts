// Starts the local stand-ins (redis-server, Upstash REST bridge, Hrana server) that replace the managed services.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startHranaServer } from './hrana-server.ts';
import { spawnRedis } from './redis-process.ts';
import { startUpstashBridge } from './upstash-bridge.ts';

export interface LocalServicesOptions {
  dataDir: string;
  upstashToken?: string;
  libsqlToken?: string;
  redis?: 'spawn';
}

export interface LocalServices {
  redisUrl: string;
  upstashUrl: string;
  upstashToken: string;
  libsqlUrl: string;
  libsqlToken: string;
  close(): Promise<void>;
}

export async function startLocalServices(opts: LocalServicesOptions): Promise<LocalServices> {
  const upstashToken = opts.upstashToken ?? randomBytes(24).toString('hex');
  const libsqlToken = opts.libsqlToken ?? randomBytes(24).toString('hex');
  await mkdir(opts.dataDir, { recursive: true });
  // Each started piece registers its own shutdown so a failure halfway leaves nothing running.
  const stops: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    const redis = await spawnRedis();
    stops.push(redis.stop);
    const bridge = await startUpstashBridge({ redisUrl: redis.url, token: upstashToken });
    stops.push(bridge.close);
    const hrana = await startHranaServer({ file: join(opts.dataDir, 'remotegpu.db'), authToken: libsqlToken });
    stops.push(hrana.close);
    return { redisUrl: redis.url, upstashUrl: bridge.url, upstashToken, libsqlUrl: hrana.url, libsqlToken, close };
  } catch (err) {
    await close();
    throw err;
  }
}
