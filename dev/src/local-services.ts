// Starts the local stand-ins (redis-server, Upstash REST bridge, Hrana server) that replace the managed services.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startHranaServer, type HranaServer } from './hrana-server.ts';
import { spawnRedis, type RedisProcess } from './redis-process.ts';
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
  /** Fault injection for tests: stop redis-server (the Upstash bridge then answers errors) and start it again, empty. */
  redis: Restartable;
  /** Fault injection for tests: stop the Hrana server (connections refused) and start it again on the same URL. */
  database: Restartable;
  close(): Promise<void>;
}

export interface Restartable {
  stop(): Promise<void>;
  /** Starts it again on the same port; a no-op when it runs. */
  start(): Promise<void>;
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
    let redis: RedisProcess | null = await spawnRedis();
    const redisPort = redis.port;
    stops.push(() => redis?.stop() ?? Promise.resolve());
    const bridge = await startUpstashBridge({ redisUrl: redis.url, token: upstashToken });
    stops.push(bridge.close);
    const file = join(opts.dataDir, 'remotegpu.db');
    let hrana: HranaServer | null = await startHranaServer({ file, authToken: libsqlToken });
    const hranaPort = Number(new URL(hrana.url).port);
    stops.push(() => hrana?.close() ?? Promise.resolve());
    return {
      redisUrl: redis.url,
      upstashUrl: bridge.url,
      upstashToken,
      libsqlUrl: hrana.url,
      libsqlToken,
      redis: {
        async stop() {
          await redis?.stop();
          redis = null;
        },
        async start() {
          redis ??= await spawnRedis({ port: redisPort });
        },
      },
      database: {
        async stop() {
          await hrana?.close();
          hrana = null;
        },
        async start() {
          hrana ??= await startHranaServer({ file, authToken: libsqlToken, port: hranaPort });
        },
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
