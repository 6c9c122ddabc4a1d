// The Docker create options for an environment (pure): limits, GPUs, labels, the owner's network, restricted rights.
import type Dockerode from 'dockerode';
import type { ContainerCreateArgs } from '@remotegpu/schema';
import type { ImageConfig } from './image.ts';
import { LABEL, containerName } from './labels.ts';

/** Keeps a container alive when the image would only start a shell: PID 1 waits, and exits on SIGTERM. */
export const KEEPALIVE_CMD = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait; done'];
const PIDS_LIMIT = 4096;
/** Not needed by a training job; NET_RAW also stops ARP/ICMP spoofing on the bridge. */
const DROP_ALWAYS = ['NET_RAW', 'MKNOD', 'SETFCAP'];
/** sshd chroots its pre-auth child and writes login audit records: kept for images that run sshd. */
const DROP_WITHOUT_SSHD = ['SYS_CHROOT', 'AUDIT_WRITE'];
const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh']);

export interface SpecInput {
  args: ContainerCreateArgs;
  network: string;
  platformPublicKey: string;
  image: ImageConfig;
  /** Marks the container as this relay's (see relayIdOf). */
  relayId?: string;
  /** The environment's data volume (named, kept across re-creation) and where it is mounted. */
  data?: { volume: string; path: string };
}

/**
 * A renter expects the image's own command to run (Jupyter, a trainer...). Only an image whose
 * command is a bare shell (or none), which would exit at once without a terminal, gets the keep-alive.
 */
export function needsKeepalive(image: ImageConfig): boolean {
  if (image.Entrypoint && image.Entrypoint.length > 0) return false;
  const cmd = image.Cmd ?? [];
  if (cmd.length === 0) return true;
  return cmd.length === 1 && SHELLS.has(cmd[0]!.split('/').pop()!);
}

export function buildCreateOptions(input: SpecInput): Dockerode.ContainerCreateOptions {
  const { args, network } = input;
  const memory = args.memory_gb * 1024 ** 3;
  const env = args.has_sshd ? [`SSH_AUTHORIZED_KEYS=${input.platformPublicKey}`] : [];
  return {
    name: containerName(args.environment_id),
    Image: args.image,
    Hostname: args.environment_id,
    Env: env,
    ...(!args.has_sshd && needsKeepalive(input.image) ? { Cmd: KEEPALIVE_CMD } : {}),
    Labels: {
      [LABEL.env]: args.environment_id,
      [LABEL.owner]: args.owner_id,
      [LABEL.request]: args.request_id,
      [LABEL.managed]: input.relayId ?? '1',
    },
    HostConfig: {
      NetworkMode: network,
      NanoCpus: args.cpu_cores * 1e9,
      Memory: memory,
      // No swap beyond the memory limit: a job that outgrows it is OOM-killed and reported, not slowed to a crawl.
      MemorySwap: memory,
      PidsLimit: PIDS_LIMIT,
      Init: true,
      Privileged: false,
      SecurityOpt: ['no-new-privileges'],
      CapDrop: args.has_sshd ? DROP_ALWAYS : [...DROP_ALWAYS, ...DROP_WITHOUT_SSHD],
      // Never host paths: no Binds; the one mount is the environment's own named data volume.
      ...(input.data
        ? { Mounts: [{ Type: 'volume' as const, Source: input.data.volume, Target: input.data.path }] }
        : {}),
      // Logs are capped so a chatty job cannot fill the host's disk.
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      ...(args.gpu_devices.length > 0
        ? { DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: args.gpu_devices.map(String), Capabilities: [['gpu']] }] }
        : {}),
    },
    NetworkingConfig: { EndpointsConfig: { [network]: {} } },
  };
}
