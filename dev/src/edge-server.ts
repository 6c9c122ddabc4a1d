// Runs the edge Worker in workerd through Miniflare directly (no wrangler dev proxy), from wrangler.toml, behind a small front (edge-front.ts).
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Log, LogLevel, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { startEdgeFront } from './edge-front.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface EdgeOptions {
  host?: string;
  port?: number;
  /** Secrets and variables on top of wrangler.toml's [vars]. */
  bindings: Record<string, string>;
  /** Durable Object storage; in memory when omitted. */
  persistDir?: string;
  /** Where the bundle goes (default: a folder under the persist dir or the system temp dir). */
  outDir: string;
  verbose?: boolean;
}

export interface EdgeServer {
  url: string;
  /**
   * workerd's own address, behind the front: for benchmarks, which measure our edge and not the stand-in for
   * Cloudflare's front (a Node proxy with a new connection per request).
   */
  workerdUrl: string;
  mf: Miniflare;
  close(): Promise<void>;
}

/** Bundles edge/src/index.ts for workerd (as wrangler would) and returns the script path. */
export async function bundleEdge(outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const outfile = join(outDir, 'worker.js');
  await build({
    entryPoints: [join(REPO_ROOT, 'edge/src/index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    external: ['cloudflare:*', 'node:*'],
    sourcemap: 'linked',
    logLevel: 'error',
  });
  return outfile;
}

export async function startEdge(o: EdgeOptions): Promise<EdgeServer> {
  const scriptPath = await bundleEdge(o.outDir);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(REPO_ROOT, 'wrangler.toml'));
  const mf = new Miniflare({
    ...(workerOptions as object),
    name: 'remotegpu-edge',
    modules: true,
    scriptPath,
    modulesRoot: dirname(scriptPath),
    bindings: { ...(workerOptions.bindings ?? {}), ...o.bindings },
    // workerd listens privately; clients reach it through the front, as they reach a deployed Worker through Cloudflare's.
    host: '127.0.0.1',
    port: 0,
    durableObjectsPersist: o.persistDir ? join(o.persistDir, 'do') : false,
    // Never fetch Request.cf from Cloudflare: this runs offline, and only talks to loopback.
    cf: false,
    log: new Log(o.verbose ? LogLevel.INFO : LogLevel.WARN),
  } as ConstructorParameters<typeof Miniflare>[0]);
  const front = await startEdgeFront({ host: o.host ?? '127.0.0.1', port: o.port ?? 0, target: await mf.ready }).catch(
    async (err: unknown) => {
      await mf.dispose();
      throw err;
    },
  );
  return {
    url: front.url,
    workerdUrl: (await mf.ready).toString().replace(/\/$/, ''),
    mf,
    close: async () => {
      await front.close();
      await mf.dispose();
    },
  };
}
