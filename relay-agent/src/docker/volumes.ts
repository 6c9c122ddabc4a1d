// Data volumes: one named Docker volume per environment, labelled as this relay's, kept across container re-creation.
import type Dockerode from 'dockerode';
import { CommandFailure } from '../tunnel/dispatcher.ts';
import { dockerMessage, statusCode } from './errors.ts';
import { LABEL } from './labels.ts';

/** Marks a volume as an environment's data volume (value: the environment that made it). */
const DATA_LABEL = 'remotegpu.data';

export interface VolumeOwner {
  environmentId: string;
  ownerId: string;
  relayId: string | undefined;
}

/** Creates the data volume unless it exists; an existing volume that is not ours is refused, never mounted. */
export async function ensureDataVolume(docker: Dockerode, name: string, o: VolumeOwner): Promise<void> {
  const existing = await docker
    .getVolume(name)
    .inspect()
    .catch((err: unknown) => {
      if (statusCode(err) === 404) return null;
      throw err;
    });
  if (existing) {
    const labels = existing.Labels ?? {};
    if (!labels[DATA_LABEL] || labels[LABEL.owner] !== o.ownerId || !sameRelay(labels, o.relayId)) {
      throw new CommandFailure('volume_conflict', `volume ${name} exists and is not this owner's data volume`);
    }
    return;
  }
  await docker.createVolume({
    Name: name,
    Driver: 'local',
    Labels: {
      [DATA_LABEL]: o.environmentId,
      [LABEL.env]: o.environmentId,
      [LABEL.owner]: o.ownerId,
      [LABEL.managed]: o.relayId ?? '1',
    },
  });
}

function sameRelay(labels: Record<string, string>, relayId: string | undefined): boolean {
  return relayId === undefined || labels[LABEL.managed] === relayId;
}

/** Removes one of this relay's data volumes; already gone counts as done; one still mounted is a retryable 409. */
export async function removeDataVolume(docker: Dockerode, name: string, relayId: string | undefined): Promise<void> {
  const v = docker.getVolume(name);
  const info = await v.inspect().catch((err: unknown) => {
    if (statusCode(err) === 404) return null;
    throw err;
  });
  if (!info) return;
  const labels = info.Labels ?? {};
  if (!labels[DATA_LABEL] || !sameRelay(labels, relayId)) {
    throw new CommandFailure('not_found', `volume ${name} is not a data volume of this relay`);
  }
  try {
    await v.remove();
  } catch (err) {
    if (statusCode(err) === 404) return;
    if (statusCode(err) === 409) throw new CommandFailure('volume_in_use', `volume ${name} is in use`, true);
    throw new CommandFailure('docker_error', `removing volume ${name}: ${dockerMessage(err)}`);
  }
}

interface DfVolume {
  Name: string;
  UsageData?: { Size?: number } | null;
}

/**
 * Sizes in bytes from the engine's disk-usage report (`GET /system/df`, what `docker system df -v` shows): it works
 * for stopped environments too, where `du` through `docker exec` would need a running container with `du` in its
 * image. The engine walks each volume to measure it, so callers ask on demand rather than on every metrics tick.
 */
export async function volumeSizes(docker: Dockerode, names: string[]): Promise<Map<string, number | null>> {
  const df = await new Promise<{ Volumes?: DfVolume[] | null }>((resolve, reject) => {
    docker.modem.dial(
      {
        path: '/system/df?',
        method: 'GET',
        // Engines from API 1.42 compute only what is asked for; older ones ignore the filter.
        options: { type: 'volume' },
        statusCodes: { 200: true, 500: 'server error' },
      },
      (err: unknown, data: unknown) => (err ? reject(err) : resolve(data as { Volumes?: DfVolume[] | null })),
    );
  });
  const byName = new Map((df.Volumes ?? []).map((v) => [v.Name, v.UsageData?.Size ?? null]));
  return new Map(
    names.map((n) => {
      const size = byName.get(n);
      return [n, size === undefined || size === null || size < 0 ? null : size];
    }),
  );
}
