// The API's types (zod), JSON in snake_case as in the seed: AccessInfo, Environment, ResourceMetrics, requests.
import { z } from 'zod';
import { TokenScope } from './billing-api.ts';
import { USER_CODE_PATTERN } from './ids.ts';
import { ENVIRONMENT_STATUSES } from './tables.ts';

/** An absolute path without `..` segments, where an environment's data volume is mounted. */
export const DataPath = z
  .string()
  .max(255)
  .regex(/^(?!.*\/\.\.?(\/|$))\/[A-Za-z0-9._\/-]*[A-Za-z0-9._-]$/, 'an absolute path such as /root/data');
/** A Docker volume name. */
export const VolumeName = z
  .string()
  .max(128)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);

export const EnvironmentType = z.enum(['physical', 'container']);
export type EnvironmentType = z.infer<typeof EnvironmentType>;
export const EnvironmentStatus = z.enum(ENVIRONMENT_STATUSES);
export type EnvironmentStatus = z.infer<typeof EnvironmentStatus>;
export const Role = z.enum(['user', 'admin']);

const isoTime = z.string();
const name = z.string().trim().min(1).max(100);
const email = z.string().trim().toLowerCase().max(254).email();
const password = z.string().min(8).max(256);

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const User = z.object({ id: z.string(), email: z.string(), role: Role, created_at: isoTime });
export type User = z.infer<typeof User>;

export const RegisterRequest = z.object({ email, password }).strict();
export const LoginRequest = z.object({ email, password: z.string().min(1).max(256) }).strict();
export const LoginResponse = z.object({ token: z.string(), user: User });

export const ApiToken = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  created_at: isoTime,
  last_used_at: isoTime.nullable(),
  expires_at: isoTime.nullable(),
  /** What the token may do; null = everything its user may (sessions, tokens made before scopes). */
  scopes: z.array(TokenScope).nullable(),
});
export type ApiToken = z.infer<typeof ApiToken>;
/**
 * `scopes`: read (GET anything the user may see), environments (changes outside billing), billing (billing changes),
 * admin (admin routes, admins only). Omitted: everything the creator may. Never more than the creating credential has.
 */
export const CreateTokenRequest = z
  .object({
    name,
    expires_in_days: z.number().int().min(1).max(3650).optional(),
    scopes: z.array(TokenScope).min(1).max(4).optional(),
  })
  .strict();
export const CreatedToken = ApiToken.extend({ token: z.string() });

/** The seed's Environment, minus the plaintext password (that lives only in AccessInfo). */
export const Environment = z.object({
  id: z.string(),
  name: z.string(),
  type: EnvironmentType,
  ssh_host: z.string(),
  ssh_port: z.number().int(),
  ssh_username: z.string(),
  target_ip: z.string(),
  physical_machine_id: z.number().int().nullable(),
  container_id: z.string().nullable(),
  image_id: z.number().int().nullable(),
  user_id: z.string(),
  /** The team it belongs to (created with the X-RemoteGPU-Team header); null: its creator's own. */
  team_id: z.string().nullable(),
  status: EnvironmentStatus,
  status_reason: z.string().nullable(),
  host_id: z.string(),
  gpu_count: z.number().int(),
  /** The model of its GPUs (nvidia-smi's name, e.g. `NVIDIA H100 80GB HBM3`); null without GPUs. */
  gpu_model: z.string().nullable(),
  cpu_cores: z.number().int(),
  memory_gb: z.number().int(),
  recording: z.boolean(),
  /**
   * Set while the environment's relay is disconnected: the environment cannot be reached (SSH, apps, actions)
   * until it returns. `since` is when the edge lost the relay. Null when reachable.
   */
  unreachable: z.object({ reason: z.string(), since: isoTime }).nullable(),
  created_at: isoTime,
  updated_at: isoTime,
  /** `none`: started without GPUs (无卡模式), billed at the image's no-GPU price. */
  gpu_mode: z.enum(['gpu', 'none']),
  /** The data volume's size in bytes when last measured (GET /environments/:id/data measures it), and when. */
  data_bytes: z.number().int().nullable(),
  data_measured_at: isoTime.nullable(),
  /** Opt-in auto stop (PUT /environments/:id/auto-stop), enforced by the relay; null = off. */
  idle_stop_minutes: z.number().int().nullable(),
  gpu_idle_threshold_pct: z.number().int().nullable(),
  scheduled_stop_at: isoTime.nullable(),
});
export type Environment = z.infer<typeof Environment>;

/**
 * PUT /environments/:id/auto-stop: stop after `idle_stop_minutes` without SSH/terminal sessions, app requests or GPU use
 * at or above `gpu_idle_threshold_pct` (default 5); stop at `scheduled_stop_at` (ISO-8601, in the future). null = off.
 */
export const AutoStopRequest = z
  .object({
    idle_stop_minutes: z.number().int().min(1).max(10_080).nullable(),
    gpu_idle_threshold_pct: z.number().int().min(0).max(100).nullable().default(null),
    scheduled_stop_at: z.iso.datetime({ offset: true }).nullable(),
  })
  .strict();

/** The seed's AccessInfo plus a ready `ssh_command`. Only ever sent to the owner. */
export const AccessInfo = z.object({
  environment_id: z.string(),
  type: EnvironmentType,
  ssh_host: z.string(),
  ssh_port: z.number().int(),
  ssh_username: z.string(),
  ssh_password: z.string(),
  target_ip: z.string(),
  jupyter_url: z.string(),
  created_at: isoTime,
  ssh_command: z.string(),
});
export type AccessInfo = z.infer<typeof AccessInfo>;

/** GET /environments/:id/access: AccessInfo plus the relay's SSH host keys (`type base64` lines), to pin them. */
export const OwnerAccessInfo = AccessInfo.extend({ ssh_host_keys: z.array(z.string()) });
export type OwnerAccessInfo = z.infer<typeof OwnerAccessInfo>;

/** What may be cached in Redis: AccessInfo without any secret. `.strict()` refuses extra keys. */
export const PublicAccessInfo = AccessInfo.omit({ ssh_password: true }).strict();
export type PublicAccessInfo = z.infer<typeof PublicAccessInfo>;

export const GpuMetrics = z.object({
  index: z.number().int(),
  utilization: z.number(),
  memory_used: z.number(),
  memory_total: z.number(),
});
/** The seed's ResourceMetrics, with the detail behind its percentages. */
export const ResourceMetrics = z.object({
  environment_id: z.string(),
  type: EnvironmentType,
  timestamp: isoTime,
  cpu_usage: z.number(),
  memory_usage: z.number(),
  gpu_usage: z.number(),
  network_in: z.number(),
  network_out: z.number(),
  memory_used: z.number().optional(),
  memory_limit: z.number().optional(),
  gpus: z.array(GpuMetrics).optional(),
  reachable: z.boolean().optional(),
  rtt_ms: z.number().nullable().optional(),
});
export type ResourceMetrics = z.infer<typeof ResourceMetrics>;

export const CreateEnvironmentRequest = z
  .object({
    name,
    image_id: z.number().int().positive(),
    gpu_count: z.number().int().min(0).max(8),
    /** Only hosts with this many free GPUs of this model (nvidia-smi's name, see GET /market/gpus); needs gpu_count >= 1. */
    gpu_model: z.string().trim().min(1).max(64).optional(),
    cpu_cores: z.number().int().min(1).max(256),
    memory_gb: z.number().int().min(1).max(4096),
    recording: z.boolean().optional(),
  })
  .strict();
export type CreateEnvironmentRequest = z.infer<typeof CreateEnvironmentRequest>;

/** GET /market/gpus: the container GPUs that can be had now, per online relay and per model. */
export const GpuOffer = z.object({
  host: z.string(),
  gpu_model: z.string(),
  memory_mib: z.number(),
  total: z.number().int(),
  free: z.number().int(),
});
export const GpuMarket = z.object({
  hosts: z.array(GpuOffer),
  models: z.array(GpuOffer.omit({ host: true })),
});
export type GpuMarket = z.infer<typeof GpuMarket>;

export const AllocateMachineRequest = z.object({ name: name.optional() }).strict();

export const Machine = z.object({
  id: z.number().int(),
  name: z.string(),
  region: z.string(),
  gpu_model: z.string(),
  gpu_count: z.number().int(),
  gpu_memory: z.number().int(),
  cpu_cores: z.number().int(),
  memory_gb: z.number().int(),
  disk_gb: z.number().int(),
  monthly_price: z.number(),
  status: z.enum(['available', 'allocated', 'maintenance']),
});
export type Machine = z.infer<typeof Machine>;
export const AdminMachine = Machine.extend({
  target_ip: z.string(),
  ssh_port: z.number().int(),
  host_id: z.string(),
  host_key: z.string().nullable(),
});

const ip = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[0-9a-fA-F:.]+$/, 'an IPv4 or IPv6 address');

/**
 * One-time credentials to enrol a machine: the relay logs in with them once, authorizes its platform key for `username`
 * (default root) and pins the host key. Never stored or logged. Exactly one of `password` / `private_key`.
 */
export const MachineEnrolment = z
  .object({
    username: z
      .string()
      .regex(/^[a-z_][a-z0-9_.-]{0,31}$/, 'a Unix user name')
      .optional(),
    password: z.string().min(1).max(1024).optional(),
    /** An OpenSSH/PEM private key the machine already trusts (e.g. the installer's key). */
    private_key: z.string().min(1).max(16384).optional(),
    passphrase: z.string().min(1).max(1024).optional(),
  })
  .strict()
  .refine(
    (e) => (e.password === undefined) !== (e.private_key === undefined),
    'give exactly one of password and private_key',
  )
  .refine((e) => e.passphrase === undefined || e.private_key !== undefined, 'passphrase goes with private_key');
export type MachineEnrolment = z.infer<typeof MachineEnrolment>;

const machineFields = z.object({
  name,
  region: z.string().trim().min(1).max(64),
  gpu_model: z.string().trim().min(1).max(64),
  gpu_count: z.number().int().min(0).max(64),
  gpu_memory: z.number().int().min(0).max(4096),
  cpu_cores: z.number().int().min(1).max(1024),
  memory_gb: z.number().int().min(1).max(65536),
  disk_gb: z.number().int().min(0).max(10_000_000),
  target_ip: ip,
  ssh_port: z.number().int().min(1).max(65535).optional(),
  host_id: z.string().min(1).max(64),
  monthly_price: z.number().min(0).max(10_000_000),
  status: z.enum(['available', 'maintenance']).optional(),
});
export const CreateMachineRequest = machineFields.extend({ enrol: MachineEnrolment.optional() }).strict();
export const UpdateMachineRequest = machineFields
  .partial()
  .extend({ status: z.enum(['available', 'maintenance']).optional() })
  .strict();

export const MarketQuery = z
  .object({
    region: z.string().max(64).optional(),
    gpu_model: z.string().max(64).optional(),
    min_gpus: z.coerce.number().int().min(0).max(64).optional(),
    status: z.enum(['available', 'allocated', 'maintenance']).optional(),
    page: z.coerce.number().int().min(1).max(100000).default(1),
    page_size: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();

export const Image = z.object({
  id: z.number().int(),
  name: z.string(),
  docker_ref: z.string(),
  has_sshd: z.boolean(),
  hourly_price: z.number(),
  /** Per hour without GPUs (无卡模式); null: 10 % of `hourly_price`. */
  no_gpu_hourly_price: z.number().nullable(),
  /** Where environments from this image mount their persistent data volume. */
  data_path: z.string(),
  description: z.string(),
  /** Set on a renter's saved image (visible to that renter only); null for the operator's catalog. */
  owner_id: z.string().nullable(),
  /** Saved images: `saving` (commit and push under way, `status_reason` says how far), `ready`, or `failed`. */
  status: z.enum(['saving', 'ready', 'failed']),
  status_reason: z.string().nullable(),
  /** Uncompressed size in bytes, once saved. */
  size_bytes: z.number().int().nullable(),
  source_environment_id: z.string().nullable(),
  /** A saved image of a team's environment: the team's (its members see and use it); null otherwise. */
  team_id: z.string().nullable(),
});
export type Image = z.infer<typeof Image>;
/** POST /environments/:id/save-image: `name` is the renter's label for it (shown as the image's description). */
export const SaveImageRequest = z.object({ name: z.string().trim().min(1).max(100) }).strict();
export const CreateImageRequest = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/),
    docker_ref: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/),
    has_sshd: z.boolean().default(false),
    hourly_price: z.number().min(0).max(100000),
    no_gpu_hourly_price: z.number().min(0).max(100000).nullable().default(null),
    data_path: DataPath.default('/root/data'),
    description: z.string().max(1000).default(''),
  })
  .strict();

/** POST /environments/:id/start: `gpu: false` starts without GPUs (无卡模式); the default starts with them. */
export const StartEnvironmentRequest = z.object({ gpu: z.boolean().default(true) }).strict();
/** POST /environments/:id/recreate: a new container from another image; the data volume stays. */
export const RecreateEnvironmentRequest = z.object({ image_id: z.number().int().positive() }).strict();

/** A deleted environment's data volume, kept until `expires_at` (REMOTEGPU_DATA_RETENTION_DAYS). */
export const RetainedData = z.object({
  id: z.string(),
  environment_id: z.string(),
  environment_name: z.string(),
  image_id: z.number().int().nullable(),
  host_id: z.string(),
  data_path: z.string(),
  bytes: z.number().int().nullable(),
  deleted_at: isoTime,
  expires_at: isoTime,
  /** The deleted environment's team (its members restore or delete the data); null: yours alone. */
  team_id: z.string().nullable(),
});
/** POST /environments/:id/clone: a copy (system files and data) on the same host; sizes default to the source's. */
export const CloneEnvironmentRequest = z
  .object({
    name,
    gpu_count: z.number().int().min(0).max(8).optional(),
    cpu_cores: z.number().int().min(1).max(256).optional(),
    memory_gb: z.number().int().min(1).max(4096).optional(),
  })
  .strict();
/** POST /data-volumes/:id/restore: a new environment on the volume's host, mounting that data. */
export const RestoreDataRequest = z
  .object({
    name,
    image_id: z.number().int().positive().optional(),
    gpu_count: z.number().int().min(0).max(8).default(0),
    cpu_cores: z.number().int().min(1).max(256),
    memory_gb: z.number().int().min(1).max(4096),
  })
  .strict();
export const EnvironmentData = z.object({
  volume: z.string(),
  data_path: z.string(),
  bytes: z.number().int().nullable(),
  measured_at: isoTime.nullable(),
});

export const HostInventory = z.object({
  cpu_cores: z.number().int(),
  memory_bytes: z.number(),
  disk_bytes: z.number().optional(),
  gpus: z.array(z.object({ index: z.number().int(), uuid: z.string(), name: z.string(), memory_mib: z.number() })),
  docker_version: z.string().nullable(),
  nvidia_runtime: z.boolean(),
  hostname: z.string().optional(),
});
export type HostInventory = z.infer<typeof HostInventory>;

export const Host = z.object({
  id: z.string(),
  name: z.string(),
  public_ssh_host: z.string(),
  shared_ssh_port: z.number().int(),
  status: z.enum(['online', 'offline']),
  /** Why it is offline (null while online); since `last_seen_at`. */
  offline_reason: z.string().nullable(),
  last_seen_at: isoTime.nullable(),
  inventory: HostInventory.nullable(),
  agent_version: z.string().nullable(),
  drained: z.boolean(),
  platform_public_key: z.string().nullable(),
  ssh_host_keys: z.array(z.string()),
  created_at: isoTime,
});
/** GET /admin/fleet: one row per relay, what an operator watches. */
export const FleetHost = z.object({
  id: z.string(),
  name: z.string(),
  public_ssh_host: z.string(),
  status: z.enum(['online', 'offline']),
  offline_reason: z.string().nullable(),
  drained: z.boolean(),
  agent_version: z.string().nullable(),
  /** Seen at the last message (online) or when the edge lost it (offline). */
  last_seen_at: isoTime.nullable(),
  gpus: z.array(
    z.object({ gpu_model: z.string(), total: z.number().int(), used: z.number().int(), free: z.number().int() }),
  ),
  /** Live environments on it by status (creating, running, stopped). */
  environments: z.object({ total: z.number().int(), running: z.number().int(), stopped: z.number().int() }),
});
export type FleetHost = z.infer<typeof FleetHost>;

export const CreateHostRequest = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
    public_ssh_host: z
      .string()
      .trim()
      .min(1)
      .max(253)
      .regex(/^[A-Za-z0-9.:-]+$/),
    shared_ssh_port: z.number().int().min(1).max(65535).optional(),
  })
  .strict();
export const CreatedHost = z.object({ host: Host, token: z.string(), install_command: z.string() });

export const SshKey = z.object({
  id: z.string(),
  name: z.string(),
  public_key: z.string(),
  fingerprint: z.string(),
  created_at: isoTime,
});
export const CreateSshKeyRequest = z
  .object({
    name,
    public_key: z.string().trim().min(16).max(16384),
  })
  .strict();

export const AuditEvent = z.object({
  id: z.number().int(),
  timestamp: isoTime,
  environment_id: z.string().nullable(),
  type: z.string().nullable(),
  event: z.string(),
  source_ip: z.string().nullable(),
  username: z.string().nullable(),
  status: z.string(),
  detail: z.unknown().nullable(),
});
export type AuditEvent = z.infer<typeof AuditEvent>;

export const UsageRecord = z.object({
  environment_id: z.string(),
  kind: z.enum(['hourly', 'monthly']),
  period_start: isoTime,
  period_end: isoTime.nullable(),
  unit_price: z.number(),
  units: z.number(),
  amount: z.number(),
});

/** Bounds of an owner's first-byte deadline for an app port: 1 s to 24 h (null or absent row: no deadline). */
export const APP_FIRST_BYTE_MIN_MS = 1_000;
export const APP_FIRST_BYTE_MAX_MS = 86_400_000;
const FirstByteTimeout = z.number().int().min(APP_FIRST_BYTE_MIN_MS).max(APP_FIRST_BYTE_MAX_MS).nullable();

/** PUT /environments/:id/apps/:port: sharing and/or the first-byte deadline; what is left out stays as it was. */
export const AppPortRequest = z
  .object({ public: z.boolean().optional(), first_byte_timeout_ms: FirstByteTimeout.optional() })
  .strict()
  .refine((b) => b.public !== undefined || b.first_byte_timeout_ms !== undefined, {
    message: 'give public and/or first_byte_timeout_ms',
  });
export type AppPortRequest = z.infer<typeof AppPortRequest>;

export const AppPort = z.object({
  port: z.number().int(),
  public: z.boolean(),
  first_byte_timeout_ms: z.number().int().nullable(),
  url: z.string(),
});
export type AppPort = z.infer<typeof AppPort>;

/** A one-use link that opens an app as its owner (POST /environments/:id/apps/:port/link). */
export const AppLink = z.object({ url: z.string(), expires_at: isoTime });
export type AppLink = z.infer<typeof AppLink>;
export const AppLinkRequest = z.object({ path: z.string().startsWith('/').max(2048).optional() }).strict();

/** A recorded SSH session (asciicast v2), listed per environment; `size` in bytes. */
export const Recording = z.object({
  id: z.string(),
  environment_id: z.string(),
  username: z.string().nullable(),
  source_ip: z.string().nullable(),
  started_at: isoTime,
  ended_at: isoTime.nullable(),
  size: z.number().int(),
});
export type Recording = z.infer<typeof Recording>;

/** POST /cli/device-codes: the CLI starts a device login; `client_name` (its host name) names the token it gets. */
export const DeviceCodeRequest = z
  .object({
    client_name: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a host name'),
  })
  .strict();
export const DeviceCode = z.object({
  /** The CLI's secret: it polls with it; stored only as a hash. */
  device_code: z.string(),
  /** What the renter compares and approves in the console, `XXXX-XXXX`. */
  user_code: z.string(),
  verification_url: z.string(),
  /** Seconds between polls. */
  interval: z.number().int(),
  /** Seconds until the codes expire. */
  expires_in: z.number().int(),
});
export type DeviceCode = z.infer<typeof DeviceCode>;
/** A user code as typed: case, spaces and the dash do not matter. */
export const UserCode = z
  .string()
  .max(32)
  .transform((s) => s.toUpperCase().replace(/[^A-Z0-9]/g, ''))
  .transform((s) => `${s.slice(0, 4)}-${s.slice(4)}`)
  .refine((s) => USER_CODE_PATTERN.test(s), 'a code like ABCD-EFGH');
export const ApproveDeviceCodeRequest = z.object({ user_code: UserCode }).strict();
export const DeviceTokenRequest = z.object({ device_code: z.string().min(1).max(200) }).strict();
/** The API token the approved CLI gets, once. */
export const DeviceToken = z.object({ token: z.string(), token_name: z.string(), user: User });
export type DeviceToken = z.infer<typeof DeviceToken>;

/** POST /admin/dns/reconcile (and the cron): the SSH names' records wanted, and the changes made or failed. */
export const DnsReconcileResult = z.object({
  /** false when the edge does not manage the SSH names' DNS (no REMOTEGPU_SSH_DOMAIN or no Cloudflare secrets). */
  managed: z.boolean(),
  records: z.number().int(),
  created: z.number().int(),
  updated: z.number().int(),
  deleted: z.number().int(),
  failed: z.number().int(),
});
