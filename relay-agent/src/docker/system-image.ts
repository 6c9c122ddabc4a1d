// An environment's system files as a local image: committed before a re-creation that must keep them.
import type Dockerode from 'dockerode';
import { statusCode } from './errors.ts';

const SYSTEM_REPO = 'remotegpu-system';

/** Commits the container (paused while it is read) to `remotegpu-system/<env>:<ms>` and returns the reference. */
export async function commitSystem(docker: Dockerode, containerId: string, environmentId: string): Promise<string> {
  const tag = `t${Date.now()}`;
  await docker.getContainer(containerId).commit({ repo: `${SYSTEM_REPO}/${environmentId}`, tag, pause: true });
  return `${SYSTEM_REPO}/${environmentId}:${tag}`;
}

/** Removes this environment's system commits except `keep` (null: all); one still in use is left for next time. */
export async function pruneSystemImages(docker: Dockerode, environmentId: string, keep: string | null): Promise<void> {
  const repo = `${SYSTEM_REPO}/${environmentId}`;
  const images = await docker.listImages({ filters: { reference: [repo] } });
  for (const img of images) {
    for (const ref of img.RepoTags ?? []) {
      if (ref === keep || !ref.startsWith(`${repo}:`)) continue;
      await docker
        .getImage(ref)
        .remove()
        .catch((err: unknown) => {
          if (statusCode(err) !== 404 && statusCode(err) !== 409) throw err;
        });
    }
  }
}
