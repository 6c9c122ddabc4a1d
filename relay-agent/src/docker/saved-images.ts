// Saved images: commit an environment's container, push it to the operator's registry, and delete it from there.
import type Dockerode from 'dockerode';
import { CMD, ImageDeleteArgs, ImageSaveArgs, type ImageSaveArgs as SaveArgs } from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';
import { CommandFailure } from '../tunnel/dispatcher.ts';
import type { CommandDispatcher } from '../tunnel/dispatcher.ts';
import { parse } from './commands.ts';
import { dockerMessage, statusCode } from './errors.ts';
import { followPull, type PullProgress } from './image.ts';
import { LABEL, containerName } from './labels.ts';

export interface SavedImageDeps {
  docker: Dockerode;
  log: Logger;
  relayId: string | undefined;
  /** Droppable progress (`image.progress`). */
  progress(imageId: number, p: PullProgress): void;
  /** The durable outcome (`image.saved`, through the outbox). */
  saved(event: { image_id: number; ok: boolean; size_bytes: number | null; error: string | null }): void;
  /** The registry's HTTP API (injected for tests). */
  fetch?: typeof fetch;
}

/** `host[:port]/path:tag` → its parts (the edge validated the shape). */
function splitRef(ref: string): { host: string; repo: string; tag: string } {
  const slash = ref.indexOf('/');
  const colon = ref.lastIndexOf(':');
  return { host: ref.slice(0, slash), repo: ref.slice(slash + 1, colon), tag: ref.slice(colon + 1) };
}

/** Registries on loopback speak plain HTTP (as dockerd allows them insecure by default); any other one HTTPS. */
function registryUrl(host: string): string {
  const name = host.replace(/:\d+$/, '');
  const loopback = name === 'localhost' || /^127\./.test(name);
  return `${loopback ? 'http' : 'https'}://${host}`;
}

export function registerImageCommands(dispatcher: CommandDispatcher, d: SavedImageDeps): void {
  dispatcher.register(CMD.imageSave, async (raw) => {
    const args = parse(ImageSaveArgs, raw);
    const container = await findContainer(d, args.environment_id);
    // The push may take minutes: answered at once, finished in the background, the outcome sent durably.
    void save(d, container, args);
    return { accepted: true };
  });
  dispatcher.register(CMD.imageDelete, async (raw) => {
    const { ref } = parse(ImageDeleteArgs, raw);
    await deleteFromRegistry(d.fetch ?? fetch, ref);
    await d.docker
      .getImage(ref)
      .remove()
      .catch((err: unknown) => {
        if (statusCode(err) !== 404 && statusCode(err) !== 409) throw err;
      });
    return { deleted: true };
  });
}

async function findContainer(d: SavedImageDeps, environmentId: string): Promise<Dockerode.Container> {
  const list = await d.docker.listContainers({
    all: true,
    filters: {
      label: [`${LABEL.env}=${environmentId}`, ...(d.relayId ? [`${LABEL.managed}=${d.relayId}`] : [])],
    },
  });
  const found = list.find((c) => c.Names.includes(`/${containerName(environmentId)}`)) ?? list[0];
  if (!found) throw new CommandFailure('not_found', `environment ${environmentId} has no container on this host`);
  return d.docker.getContainer(found.Id);
}

async function save(d: SavedImageDeps, container: Dockerode.Container, args: SaveArgs): Promise<void> {
  const log = d.log.child({ env_id: args.environment_id, image_id: args.image_id, ref: args.ref });
  const { host, repo, tag } = splitRef(args.ref);
  try {
    d.progress(args.image_id, { status: 'committing', current: null, total: null });
    await container.commit({ repo: `${host}/${repo}`, tag, pause: true });
    const image = d.docker.getImage(args.ref);
    // No credentials: the operator's registry trusts its relays' network (an empty X-Registry-Auth, as the CLI sends).
    const stream = (await image.push({ authconfig: {} })) as unknown as NodeJS.ReadableStream;
    await followPull(stream, args.ref, (p) => d.progress(args.image_id, p), 500, {
      verb: 'pushing',
      code: 'image_push_failed',
    });
    const size = (await image.inspect()).Size;
    log.info('environment saved as an image', { size_bytes: size });
    d.saved({ image_id: args.image_id, ok: true, size_bytes: size, error: null });
  } catch (err) {
    const error = err instanceof CommandFailure ? err.message : dockerMessage(err);
    log.warn('saving the environment as an image failed', { error });
    d.saved({ image_id: args.image_id, ok: false, size_bytes: null, error });
  }
}

/** Deletes the manifest by its digest (the registry's delete API); a manifest already gone counts as deleted. */
async function deleteFromRegistry(fetchFn: typeof fetch, ref: string): Promise<void> {
  const { host, repo, tag } = splitRef(ref);
  const base = `${registryUrl(host)}/v2/${repo}/manifests`;
  const accept = [
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.index.v1+json',
  ].join(', ');
  const head = await fetchFn(`${base}/${tag}`, { method: 'HEAD', headers: { accept } }).catch((err: unknown) => {
    throw new CommandFailure('registry_unreachable', `registry ${host}: ${String(err)}`, true);
  });
  if (head.status === 404) return;
  const digest = head.headers.get('docker-content-digest');
  if (!head.ok || !digest)
    throw new CommandFailure('registry_error', `registry ${host} answered ${head.status} for ${repo}:${tag}`);
  const del = await fetchFn(`${base}/${digest}`, { method: 'DELETE' });
  if (del.status !== 202 && del.status !== 404)
    throw new CommandFailure('registry_error', `registry ${host} refused to delete ${repo}@${digest}: ${del.status}`);
}
