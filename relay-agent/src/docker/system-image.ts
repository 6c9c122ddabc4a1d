// An environment's system files as a local image: committed before a re-creation that must keep them.
import type Dockerode from 'dockerode';
import { CommandFailure } from '../tunnel/dispatcher.ts';
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

/**
 * Copies one volume's files into another (owners, modes, links, times kept) with a short-lived helper container of
 * `image` (the clone's own commit: it has `sh` and `cp` like any Linux userland), no network, the source read-only.
 */
export async function copyVolume(docker: Dockerode, image: string, from: string, to: string): Promise<void> {
  const helper = await docker.createContainer({
    Image: image,
    Entrypoint: ['sh', '-c'],
    Cmd: ['cp -a /from/. /to/'],
    Labels: { 'remotegpu.helper': 'volume-copy' },
    HostConfig: {
      NetworkMode: 'none',
      Mounts: [
        { Type: 'volume', Source: from, Target: '/from', ReadOnly: true },
        { Type: 'volume', Source: to, Target: '/to' },
      ],
    },
  });
  try {
    await helper.start();
    const { StatusCode } = (await helper.wait()) as { StatusCode: number };
    if (StatusCode !== 0) {
      const logs = await helper.logs({ stdout: true, stderr: true }).catch(() => '');
      throw new CommandFailure(
        'copy_failed',
        `copying the data volume failed (exit ${StatusCode}): ${String(logs).slice(-500)}`,
      );
    }
  } finally {
    await helper.remove({ force: true }).catch(() => {});
  }
}
