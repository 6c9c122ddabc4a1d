// Tunnel control messages: JSON text frames between the edge's HostTunnel and the relay agent.
// Type strings never change once shipped; add new ones. Unknown types decode to `unknown_type` and are ignored.
import { z } from 'zod';
import { DataPath, HostInventory, ResourceMetrics, VolumeName } from '../api.ts';
import { ENV_ID_PATTERN } from '../ids.ts';

export const PROTOCOL_VERSION = 1;
/**
 * The oldest relay protocol the edge still accepts: the previous one, so that an operator can upgrade the edge first
 * and the relays host by host. Older relays are refused with the release to install (protocolRefusal).
 */
export const MIN_PROTOCOL_VERSION = PROTOCOL_VERSION - 1;
/** The relay-agent release that speaks PROTOCOL_VERSION: what a refused relay is told to install. */
export const RELAY_AGENT_RELEASE = '0.1.0';

/**
 * Why the edge refuses a relay speaking `protocol` (the close reason the relay logs and the admin fleet view shows),
 * or null when it is accepted. Close reasons are limited to 123 bytes: these stay short.
 */
export function protocolRefusal(protocol: number): string | null {
  if (protocol > PROTOCOL_VERSION)
    return `protocol ${protocol} not supported; this edge speaks ${MIN_PROTOCOL_VERSION}-${PROTOCOL_VERSION}: upgrade the edge`;
  if (protocol < MIN_PROTOCOL_VERSION)
    return `protocol ${protocol} not supported (too old): install @remotegpu/relay-agent@${RELAY_AGENT_RELEASE}`;
  return null;
}
export const HEARTBEAT_MS = 20_000;
export const MAX_CONTROL_BYTES = 4 * 1024 * 1024;

export const MSG = {
  /** agent → edge: first frame of every connection. */
  hello: 'hello',
  /** edge → agent: answer to hello with the full route set of this relay. */
  welcome: 'welcome',
  /** edge → agent: one route added or changed. */
  routeUpsert: 'route.upsert',
  /** edge → agent: one route removed. */
  routeRemove: 'route.remove',
  /** edge → agent: a command with an id and a deadline. */
  cmd: 'cmd',
  /** agent → edge: the result of a command. */
  result: 'result',
  /** agent → edge: something happened (container state, pull progress, metrics, audit). */
  event: 'event',
  /** edge → agent: events with these ids are stored; the agent may drop them from its outbox. */
  ack: 'ack',
  /** either way: heartbeat and its answer. */
  ping: 'ping',
  pong: 'pong',
} as const;

export const CMD = {
  containerCreate: 'container.create',
  containerStart: 'container.start',
  containerStop: 'container.stop',
  containerRestart: 'container.restart',
  containerRemove: 'container.remove',
  /**
   * Replace an environment's container, keeping its data volume: with another image (`keep_system: false`), or from a
   * commit of the old container (`keep_system: true`: the renter's system files stay; used to change the GPU mode).
   */
  containerRecreate: 'container.recreate',
  /**
   * Create an environment as a copy of another on this relay: a commit of its container (system files) and a copy of
   * its data volume (`cp -a` in a helper container with both mounted). Arguments and result as container.create.
   */
  containerClone: 'container.clone',
  /** Remove a data volume of this relay's (labelled as ours); already gone counts as done. */
  volumeRemove: 'volume.remove',
  /** The sizes of data volumes, in bytes (Docker's volume UsageData, as `docker system df -v` shows). */
  volumeUsage: 'volume.usage',
  /**
   * Commit an environment's container and push it to the operator's registry. Answers at once (accepted); progress
   * follows as `image.progress` events and the outcome as one durable `image.saved` event.
   */
  imageSave: 'image.save',
  /** Delete a saved image from the operator's registry (manifest by digest) and from this host. */
  imageDelete: 'image.delete',
  /** Fetch the host key of a target's sshd (pinned at enrolment). */
  targetProbe: 'target.probe',
  /** Log in to a target once with credentials the admin gave, authorize the relay's platform key, pin the host key. */
  targetEnrol: 'target.enrol',
} as const;

export const EVENT = {
  containerState: 'container.state',
  pullProgress: 'pull.progress',
  metrics: 'metrics',
  audit: 'audit',
  recording: 'recording',
  /**
   * agent → edge, through the durable outbox (acked): an environment's cumulative running seconds as the relay
   * counted them (UsageReport). Cumulative, so a repeated or late report charges nothing twice.
   */
  usage: 'usage',
  /** agent → edge, droppable: how far an image.save has got. */
  imageProgress: 'image.progress',
  /** agent → edge, durable: an image.save finished (pushed, or failed with the reason). */
  imageSaved: 'image.saved',
} as const;

const id = z.string().min(1).max(128);

export const RouteTarget = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('ssh'),
    ip: z.string().max(64),
    port: z.number().int().min(1).max(65535),
    host_key: z.string().max(16384).nullable(),
  }),
  z.object({ kind: z.literal('docker'), container_id: z.string().max(128) }),
]);
export type RouteTarget = z.infer<typeof RouteTarget>;

/** What a relay needs to serve one environment: never a plaintext password. */
export const Route = z.object({
  environment_id: z.string().regex(ENV_ID_PATTERN),
  type: z.enum(['physical', 'container']),
  user_id: z.string().max(128),
  ssh_port: z.number().int().min(1).max(65535),
  ssh_username: z.string().max(64),
  target_ip: z.string().max(64),
  target: RouteTarget.nullable(),
  password_hash: z.string().max(512),
  owner_keys: z.array(z.string().max(16384)).max(256),
  recording: z.boolean(),
  running: z.boolean(),
  /**
   * The owner's opt-in auto stop, enforced by the relay itself (so it works while the edge is away): stop after this
   * many minutes without SSH/terminal sessions, app requests or GPU use at or above the threshold (%); stop at a time
   * (epoch ms, 定时关机). Absent from older edges: off.
   */
  auto_stop: z
    .object({
      idle_minutes: z.number().int().min(1).nullable(),
      gpu_idle_threshold_pct: z.number().min(0).max(100).nullable(),
      scheduled_at: z.number().int().nullable(),
    })
    .optional(),
});
export type Route = z.infer<typeof Route>;

export const ContainerReport = z.object({
  environment_id: z.string().max(64),
  container_id: z.string().max(128),
  state: z.string().max(32),
  exit_code: z.number().int().nullable().optional(),
  ip: z.string().max(64).nullable().optional(),
});
export type ContainerReport = z.infer<typeof ContainerReport>;

export const Hello = z.object({
  type: z.literal(MSG.hello),
  protocol: z.number().int(),
  agent_version: z.string().max(64),
  role: z.enum(['control', 'data']).default('control'),
  shard: z.number().int().min(0).max(63).optional(),
  inventory: HostInventory.optional(),
  containers: z.array(ContainerReport).max(10_000).optional(),
  public_ssh_host: z.string().max(253).optional(),
  ssh_host_keys: z.array(z.string().max(16384)).max(8).optional(),
  /** The relay's key towards targets: physical machines authorize it for root. */
  platform_public_key: z.string().max(16384).optional(),
  /** The per-environment SSH port range the relay serves (`--ssh-ports`): the edge allocates inside it. */
  ssh_ports: z.tuple([z.number().int().min(1).max(65535), z.number().int().min(1).max(65535)]).optional(),
  /** The shared SSH port (`--ssh-listen`) where usernames name environments. */
  shared_ssh_port: z.number().int().min(1).max(65535).optional(),
});
export type Hello = z.infer<typeof Hello>;

export const Welcome = z.object({
  type: z.literal(MSG.welcome),
  protocol: z.number().int(),
  host_id: z.string(),
  heartbeat_ms: z.number().int().positive(),
  routes: z.array(Route),
});
export type Welcome = z.infer<typeof Welcome>;

export const RouteUpsert = z.object({ type: z.literal(MSG.routeUpsert), route: Route });
export const RouteRemove = z.object({ type: z.literal(MSG.routeRemove), environment_id: z.string().max(64) });

export const Command = z.object({
  type: z.literal(MSG.cmd),
  id,
  name: z.string().max(64),
  /** Epoch milliseconds after which the edge no longer waits for the result. */
  deadline: z.number().int(),
  args: z.unknown(),
});
export type Command = z.infer<typeof Command>;

/**
 * The codes of failed command results (`result.error.code`). The relay sends all but the last two, which the edge's
 * HostTunnel makes itself when the relay cannot answer. Codes never change once shipped; add new ones.
 */
export const COMMAND_ERROR = {
  /** The relay does not know the command (an older agent). */
  unknownCommand: 'unknown_command',
  /** The command reached the relay after its deadline; nothing was done. */
  deadlineExceeded: 'deadline_exceeded',
  /** The arguments did not parse on the relay. */
  invalidArgs: 'invalid_args',
  /** The handler failed unexpectedly (the message says how). */
  internal: 'internal',
  /** The requested GPUs are not on this host, or its engine has no NVIDIA runtime. */
  gpuUnavailable: 'gpu_unavailable',
  /** Enrolment: the machine refused the one-time credentials. */
  enrolAuthFailed: 'enrol_auth_failed',
  /** Enrolment: the machine's sshd could not be reached or offered no host key. */
  enrolUnreachable: 'enrol_unreachable',
  /** Enrolment: the platform key could not be installed. */
  enrolInstallFailed: 'enrol_install_failed',
  /** Enrolment: the key was installed but logging in with it failed. */
  enrolVerifyFailed: 'enrol_verify_failed',
  /** Edge-made: the relay is not connected, or went away before answering. */
  hostOffline: 'host_offline',
  /** Edge-made: no answer within the command's deadline (the relay may still finish). */
  timeout: 'timeout',
} as const;
export type CommandErrorCode = (typeof COMMAND_ERROR)[keyof typeof COMMAND_ERROR];

export const CommandError = z.object({
  code: z.string().max(64),
  message: z.string().max(8192),
  retryable: z.boolean().default(false),
});
export type CommandError = z.infer<typeof CommandError>;

export const Result = z.union([
  z.object({ type: z.literal(MSG.result), id, ok: z.literal(true), data: z.unknown().optional() }),
  z.object({ type: z.literal(MSG.result), id, ok: z.literal(false), error: CommandError }),
]);
export type Result = z.infer<typeof Result>;

export const Event = z.object({
  type: z.literal(MSG.event),
  name: z.string().max(64),
  /** Present when the agent wants an ack (durable outbox events). */
  id: id.optional(),
  data: z.unknown(),
});
export type Event = z.infer<typeof Event>;

export const Ack = z.object({ type: z.literal(MSG.ack), ids: z.array(id).max(10_000) });
export const Ping = z.object({ type: z.literal(MSG.ping), ts: z.number() });
export const Pong = z.object({ type: z.literal(MSG.pong), ts: z.number() });

export const ControlMessage = z.discriminatedUnion('type', [
  Hello,
  Welcome,
  RouteUpsert,
  RouteRemove,
  Command,
  Event,
  Ack,
  Ping,
  Pong,
  z.object({
    type: z.literal(MSG.result),
    id,
    ok: z.boolean(),
    data: z.unknown().optional(),
    error: CommandError.optional(),
  }),
]);
export type ControlMessage = z.infer<typeof ControlMessage> | Result;

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string; type?: string };

const KNOWN = new Set<string>(Object.values(MSG));

/** Decodes a text frame. Never throws: garbage, oversized or unknown frames come back as errors. */
export function decodeControl(text: unknown): Decoded<ControlMessage> {
  if (typeof text !== 'string') return { ok: false, error: 'not_text' };
  if (text.length > MAX_CONTROL_BYTES) return { ok: false, error: 'too_large' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'bad_json' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: 'not_object' };
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, error: 'no_type' };
  if (!KNOWN.has(type)) return { ok: false, error: 'unknown_type', type };
  if (type === MSG.result) {
    const r = Result.safeParse(raw);
    return r.success ? { ok: true, value: r.data } : { ok: false, error: 'invalid', type };
  }
  const parsed = ControlMessage.safeParse(raw);
  if (!parsed.success) return { ok: false, error: 'invalid', type };
  return { ok: true, value: parsed.data as ControlMessage };
}

export function encodeControl(msg: ControlMessage): string {
  return JSON.stringify(msg);
}

// ---- command arguments, shared by the edge (sender) and the agent (executor) ----

/** The default data volume of an environment (a restored one mounts the volume it was restored from). */
export function dataVolumeName(environmentId: string): string {
  return `remotegpu-data-${environmentId}`;
}

export const ContainerCreateArgs = z.object({
  environment_id: z.string().regex(ENV_ID_PATTERN),
  request_id: z.string().max(128),
  owner_id: z.string().max(128),
  image: z.string().max(255),
  has_sshd: z.boolean(),
  gpu_devices: z.array(z.number().int().min(0).max(63)).max(64),
  cpu_cores: z.number().int().min(1),
  memory_gb: z.number().int().min(1),
  /** The data volume's mount point (absolute; default `/root/data`) and its name (default `dataVolumeName(env)`). */
  data_path: DataPath.optional(),
  data_volume: VolumeName.optional(),
});
export type ContainerCreateArgs = z.infer<typeof ContainerCreateArgs>;
export const ContainerRecreateArgs = ContainerCreateArgs.extend({ keep_system: z.boolean() });
export type ContainerRecreateArgs = z.infer<typeof ContainerRecreateArgs>;
export const ContainerCloneArgs = ContainerCreateArgs.extend({
  source_environment_id: z.string().regex(ENV_ID_PATTERN),
  source_volume: VolumeName,
});
export type ContainerCloneArgs = z.infer<typeof ContainerCloneArgs>;

export const VolumeRemoveArgs = z.object({ volume: VolumeName });
/** A reference in the operator's registry: `host[:port]/path:tag`. */
const RegistryRef = z
  .string()
  .max(255)
  .regex(/^[a-z0-9.-]+(:\d{1,5})?\/[a-z0-9]+([._/-][a-z0-9]+)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
export const ImageSaveArgs = z.object({
  environment_id: z.string().regex(ENV_ID_PATTERN),
  image_id: z.number().int().positive(),
  ref: RegistryRef,
});
export type ImageSaveArgs = z.infer<typeof ImageSaveArgs>;
export const ImageDeleteArgs = z.object({ ref: RegistryRef });
export const ImageProgressEvent = z.object({
  image_id: z.number().int(),
  status: z.string().max(256),
  current: z.number().nullable().optional(),
  total: z.number().nullable().optional(),
});
export const ImageSavedEvent = z.object({
  image_id: z.number().int(),
  ok: z.boolean(),
  size_bytes: z.number().int().nullable().optional(),
  error: z.string().max(4096).nullable().optional(),
});
export const VolumeUsageArgs = z.object({ volumes: z.array(VolumeName).min(1).max(1000) });
export const VolumeUsageResult = z.object({
  usage: z.array(z.object({ volume: z.string(), bytes: z.number().int().nullable() })),
});
export type VolumeUsageResult = z.infer<typeof VolumeUsageResult>;
export const ContainerCreateResult = z.object({
  container_id: z.string(),
  ip: z.string(),
  host_key: z.string().nullable().optional(),
});
export type ContainerCreateResult = z.infer<typeof ContainerCreateResult>;

export const ContainerActionArgs = z.object({
  environment_id: z.string().regex(ENV_ID_PATTERN),
  container_id: z.string().max(128).nullable(),
});
export type ContainerActionArgs = z.infer<typeof ContainerActionArgs>;
export const ContainerActionResult = z.object({ state: z.string(), ip: z.string().nullable().optional() });

export const TargetProbeArgs = z.object({ ip: z.string().min(1).max(64), port: z.number().int().min(1).max(65535) });
export const TargetProbeResult = z.object({ host_key: z.string().min(1).max(16384) });

/**
 * target.enrol: one-time credentials (a password, or a private key the target already trusts) travel edge → relay inside
 * this command only; neither side stores or logs them. Exactly one of `password` / `private_key`.
 */
export const TargetEnrolArgs = z
  .object({
    ip: z.string().min(1).max(64),
    port: z.number().int().min(1).max(65535),
    username: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/),
    password: z.string().min(1).max(1024).optional(),
    private_key: z.string().min(1).max(16384).optional(),
    passphrase: z.string().min(1).max(1024).optional(),
  })
  .strict()
  .refine(
    (a) => (a.password === undefined) !== (a.private_key === undefined),
    'exactly one of password and private_key',
  );
export type TargetEnrolArgs = z.infer<typeof TargetEnrolArgs>;
/** `installed`: false when the platform key was already authorized (enrolment is idempotent). */
export const TargetEnrolResult = z.object({ host_key: z.string().min(1).max(16384), installed: z.boolean() });
export type TargetEnrolResult = z.infer<typeof TargetEnrolResult>;

export const ContainerStateEvent = z.object({
  environment_id: z.string().max(64),
  container_id: z.string().max(128).nullable(),
  state: z.string().max(32),
  reason: z.string().max(4096).nullable().optional(),
});
export const PullProgressEvent = z.object({
  environment_id: z.string().max(64),
  image: z.string().max(255),
  status: z.string().max(256),
  current: z.number().nullable().optional(),
  total: z.number().nullable().optional(),
});
/**
 * EVENT.metrics: samples from the relay's durable outbox, each with its outbox `id` (acknowledged once stored; the
 * edge stores a sample once per host, environment and timestamp). A sample without an id (an older relay) is stored
 * and not acknowledged.
 */
export const MetricsEvent = z.object({
  samples: z
    .array(ResourceMetrics.extend({ environment_id: z.string().min(1).max(64), id: id.optional() }))
    .max(10_000),
});
export const AuditRecord = z.object({
  timestamp: z.string().max(64),
  environment_id: z.string().max(64).nullable(),
  type: z.string().max(32).nullable(),
  event: z.string().max(64),
  source_ip: z.string().max(64).nullable(),
  username: z.string().max(256).nullable(),
  status: z.string().max(32),
  detail: z.unknown().optional(),
});
export type AuditRecord = z.infer<typeof AuditRecord>;
export const AuditEventBatch = z.object({ events: z.array(AuditRecord.extend({ id })).max(1000) });

/** EVENT.usage: `running_seconds` only grows; `at` is when the relay counted it (epoch ms). */
export const UsageReport = z.object({
  environment_id: z.string().max(64),
  running_seconds: z
    .number()
    .int()
    .min(0)
    .max(2 ** 40),
  at: z.number().int().min(0),
});
export type UsageReport = z.infer<typeof UsageReport>;
