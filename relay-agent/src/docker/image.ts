// Images: inspect locally, pull when missing with throttled progress, and the registry's own words when a pull fails.
import type Dockerode from 'dockerode';
import { CommandFailure } from '../tunnel/dispatcher.ts';
import { dockerMessage, statusCode } from './errors.ts';

export interface PullProgress {
  status: string;
  current: number | null;
  total: number | null;
}

export interface ImageConfig {
  Cmd: string[] | null;
  Entrypoint: string[] | null;
}

interface PullLine {
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  progressDetail?: { current?: number; total?: number };
}

function imageConfig(info: Dockerode.ImageInspectInfo): ImageConfig {
  const cfg = info.Config as unknown as { Cmd?: string[] | null; Entrypoint?: string[] | string | null } | undefined;
  const ep = cfg?.Entrypoint;
  return { Cmd: cfg?.Cmd ?? null, Entrypoint: typeof ep === 'string' ? [ep] : (ep ?? null) };
}

/** Returns the image's config, pulling it first when it is not on this host. */
export async function ensureImage(
  docker: Dockerode,
  image: string,
  onProgress: (p: PullProgress) => void,
  throttleMs = 500,
): Promise<ImageConfig> {
  try {
    return imageConfig(await docker.getImage(image).inspect());
  } catch (err) {
    if (statusCode(err) !== 404) throw err;
  }
  const ref = /:[^/]+$|@/.test(image) ? image : `${image}:latest`;
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(ref);
  } catch (err) {
    throw new CommandFailure('image_pull_failed', `pulling ${ref} failed: ${dockerMessage(err)}`, isTransient(err));
  }
  await followPull(stream, ref, onProgress, throttleMs);
  return imageConfig(await docker.getImage(ref).inspect());
}

function isTransient(err: unknown): boolean {
  const code = statusCode(err);
  return code === undefined || (code >= 500 && !/denied|not found|unknown|manifest/i.test(dockerMessage(err)));
}

/**
 * Reads a pull's (or push's: same JSON lines) progress: byte totals over layers, an `error` line fails it with its
 * message.
 */
export function followPull(
  stream: NodeJS.ReadableStream,
  ref: string,
  onProgress: (p: PullProgress) => void,
  throttleMs: number,
  op: { verb: string; code: string } = { verb: 'pulling', code: 'image_pull_failed' },
): Promise<void> {
  const layers = new Map<string, { current: number; total: number }>();
  let buf = '';
  let lastSent = 0;
  let failure: string | null = null;
  const report = (status: string, force: boolean) => {
    const now = Date.now();
    if (!force && now - lastSent < throttleMs) return;
    lastSent = now;
    let current = 0;
    let total = 0;
    for (const l of layers.values()) {
      current += l.current;
      total += l.total;
    }
    onProgress({ status, current: total > 0 ? current : null, total: total > 0 ? total : null });
  };
  const line = (text: string) => {
    let obj: PullLine;
    try {
      obj = JSON.parse(text) as PullLine;
    } catch {
      return;
    }
    if (obj.error || obj.errorDetail?.message) {
      failure = obj.errorDetail?.message ?? obj.error ?? 'unknown error';
      return;
    }
    const status = obj.status ?? '';
    if (obj.id && obj.progressDetail?.total) {
      layers.set(obj.id, { current: obj.progressDetail.current ?? 0, total: obj.progressDetail.total });
    } else if (obj.id && /complete|already exists/i.test(status)) {
      const l = layers.get(obj.id);
      if (l) l.current = l.total;
    }
    report(status, !obj.id);
  };
  return new Promise((resolve, reject) => {
    onProgress({ status: `${op.verb} ${ref}`, current: null, total: null });
    stream.on('data', (chunk: Buffer | string) => {
      buf += chunk.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const text = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (text) line(text);
      }
    });
    stream.on('error', (err: Error) =>
      reject(new CommandFailure(op.code, `${op.verb} ${ref} failed: ${err.message}`, true)),
    );
    stream.on('end', () => {
      if (buf.trim()) line(buf.trim());
      if (failure !== null) {
        reject(new CommandFailure(op.code, `${op.verb} ${ref} failed: ${failure}`, false));
        return;
      }
      report('done', true);
      resolve();
    });
  });
}
