// The system of record: drizzle tables (sqlite-core, for libsql/Turso). Times are epoch milliseconds.
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const now = sql`(cast(unixepoch('subsecond') * 1000 as integer))`;

export const users = sqliteTable(
  'users',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull(),
    password_hash: text('password_hash').notNull(),
    role: text('role', { enum: ['user', 'admin'] })
      .notNull()
      .default('user'),
    created_at: integer('created_at').notNull().default(now),
  },
  (t) => [uniqueIndex('users_email_uq').on(t.email)],
);

/** Console sessions; `id` is the SHA-256 of the session secret, never the secret itself. */
/** Teams (organisations); every user also has a personal team of one (`personal_of` = that user). */
export const teams = sqliteTable(
  'teams',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** The user whose personal team this is; null for a shared team. */
    personal_of: text('personal_of').references(() => users.id, { onDelete: 'cascade' }),
    created_at: integer('created_at').notNull().default(now),
  },
  (t) => [uniqueIndex('teams_personal_uq').on(t.personal_of)],
);

export const TEAM_ROLES = ['owner', 'member', 'read_only'] as const;

/** Who belongs to a team and as what: owners manage members; read_only members read but do not act. */
export const teamMembers = sqliteTable(
  'team_members',
  {
    team_id: text('team_id')
      .notNull()
      .references(() => teams.id, { onDelete: 'cascade' }),
    user_id: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: TEAM_ROLES }).notNull(),
    created_at: integer('created_at').notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.team_id, t.user_id] }), index('team_members_user_idx').on(t.user_id)],
);

export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    user_id: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    created_at: integer('created_at').notNull().default(now),
    expires_at: integer('expires_at').notNull(),
    source_ip: text('source_ip'),
  },
  (t) => [index('sessions_user_idx').on(t.user_id)],
);

export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    user_id: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    token_hash: text('token_hash').notNull(),
    prefix: text('prefix').notNull(),
    created_at: integer('created_at').notNull().default(now),
    last_used_at: integer('last_used_at'),
    expires_at: integer('expires_at'),
    /** What the token may do (`TOKEN_SCOPES`); null = everything its user may (tokens made before scopes). */
    scopes: text('scopes', { mode: 'json' }).$type<string[]>(),
  },
  (t) => [uniqueIndex('api_tokens_hash_uq').on(t.token_hash), index('api_tokens_user_idx').on(t.user_id)],
);

/** Relays: one agent per GPU host or LAN gateway. */
export const hosts = sqliteTable(
  'hosts',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    token_hash: text('token_hash').notNull(),
    public_ssh_host: text('public_ssh_host').notNull(),
    shared_ssh_port: integer('shared_ssh_port').notNull().default(2222),
    status: text('status', { enum: ['online', 'offline'] })
      .notNull()
      .default('offline'),
    last_seen_at: integer('last_seen_at'),
    inventory: text('inventory', { mode: 'json' }),
    agent_version: text('agent_version'),
    platform_public_key: text('platform_public_key'),
    ssh_port_min: integer('ssh_port_min').notNull().default(50000),
    ssh_port_max: integer('ssh_port_max').notNull().default(59999),
    ssh_host_keys: text('ssh_host_keys', { mode: 'json' }).$type<string[]>(),
    drained: integer('drained', { mode: 'boolean' }).notNull().default(false),
    /** Why the relay is offline (closed, missed heartbeats, refused version); null while online. Since: last_seen_at. */
    offline_reason: text('offline_reason'),
    created_at: integer('created_at').notNull().default(now),
  },
  (t) => [uniqueIndex('hosts_name_uq').on(t.name), uniqueIndex('hosts_token_uq').on(t.token_hash)],
);

/** The physical pool of the computing market. */
export const machines = sqliteTable(
  'machines',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    region: text('region').notNull(),
    gpu_model: text('gpu_model').notNull(),
    gpu_count: integer('gpu_count').notNull(),
    gpu_memory: integer('gpu_memory').notNull(),
    cpu_cores: integer('cpu_cores').notNull(),
    memory_gb: integer('memory_gb').notNull(),
    disk_gb: integer('disk_gb').notNull(),
    target_ip: text('target_ip').notNull(),
    ssh_port: integer('ssh_port').notNull().default(22),
    host_id: text('host_id')
      .notNull()
      .references(() => hosts.id),
    monthly_price: real('monthly_price').notNull(),
    status: text('status', { enum: ['available', 'allocated', 'maintenance'] })
      .notNull()
      .default('available'),
    host_key: text('host_key'),
    created_at: integer('created_at').notNull().default(now),
    updated_at: integer('updated_at').notNull().default(now),
  },
  (t) => [uniqueIndex('machines_name_uq').on(t.name), index('machines_market_idx').on(t.status, t.region, t.gpu_model)],
);

export const images = sqliteTable(
  'images',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    docker_ref: text('docker_ref').notNull(),
    has_sshd: integer('has_sshd', { mode: 'boolean' }).notNull().default(false),
    hourly_price: real('hourly_price').notNull(),
    /** Price per hour of an environment started without GPUs (无卡模式); null = 10 % of `hourly_price`. */
    no_gpu_hourly_price: real('no_gpu_hourly_price'),
    /** Where the environment's persistent data volume is mounted (absolute path inside the container). */
    data_path: text('data_path').notNull().default('/root/data'),
    description: text('description').notNull().default(''),
    /** A renter's saved image (private to them); null = the operator's catalog, visible to all. */
    owner_id: text('owner_id'),
    /** Saved images: `saving` while the relay commits and pushes, then `ready` or `failed` (with the reason). */
    status: text('status', { enum: ['saving', 'ready', 'failed'] })
      .notNull()
      .default('ready'),
    status_reason: text('status_reason'),
    size_bytes: integer('size_bytes'),
    source_environment_id: text('source_environment_id'),
    created_at: integer('created_at').notNull().default(now),
    /** A saved image of a team's environment is the team's: its members see and use it (null: `owner_id`'s alone). */
    team_id: text('team_id').references(() => teams.id),
  },
  (t) => [uniqueIndex('images_name_uq').on(t.name)],
);

export const ENVIRONMENT_STATUSES = ['creating', 'running', 'stopped', 'failed', 'deleting'] as const;

export const environments = sqliteTable(
  'environments',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    type: text('type', { enum: ['physical', 'container'] }).notNull(),
    ssh_host: text('ssh_host').notNull(),
    ssh_port: integer('ssh_port').notNull(),
    ssh_username: text('ssh_username').notNull().default('root'),
    target_ip: text('target_ip').notNull().default(''),
    physical_machine_id: integer('physical_machine_id').references(() => machines.id),
    container_id: text('container_id'),
    image_id: integer('image_id').references(() => images.id),
    user_id: text('user_id')
      .notNull()
      .references(() => users.id),
    status: text('status', { enum: ENVIRONMENT_STATUSES }).notNull(),
    status_reason: text('status_reason'),
    host_id: text('host_id')
      .notNull()
      .references(() => hosts.id),
    gpu_count: integer('gpu_count').notNull().default(0),
    gpu_devices: text('gpu_devices', { mode: 'json' }).$type<number[]>(),
    /** The model of its GPUs (nvidia-smi's name, e.g. `NVIDIA H100 80GB HBM3`); null without GPUs. */
    gpu_model: text('gpu_model'),
    cpu_cores: integer('cpu_cores').notNull().default(0),
    memory_gb: integer('memory_gb').notNull().default(0),
    password_hash: text('password_hash').notNull(),
    password_enc: text('password_enc').notNull(),
    target_host_key: text('target_host_key'),
    recording: integer('recording', { mode: 'boolean' }).notNull().default(false),
    request_id: text('request_id'),
    created_at: integer('created_at').notNull().default(now),
    updated_at: integer('updated_at').notNull().default(now),
    started_at: integer('started_at'),
    /** The named Docker volume holding the data path (null: `dataVolumeName(id)`; a restored environment names another). */
    data_volume: text('data_volume'),
    /** The data volume's size in bytes as last measured on the relay, and when (epoch ms). */
    data_bytes: integer('data_bytes'),
    data_measured_at: integer('data_measured_at'),
    /** `none`: started without GPUs (无卡模式), its `gpu_devices` released; `gpu`: as created. */
    gpu_mode: text('gpu_mode', { enum: ['gpu', 'none'] })
      .notNull()
      .default('gpu'),
    /** Opt-in idle stop: minutes without sessions, app requests or GPU use above the threshold (null = off). */
    idle_stop_minutes: integer('idle_stop_minutes'),
    gpu_idle_threshold_pct: integer('gpu_idle_threshold_pct'),
    /** Opt-in scheduled stop (定时关机), epoch ms; cleared once it fired. */
    scheduled_stop_at: integer('scheduled_stop_at'),
    /** The team it belongs to (null: the creator's own, as before teams); its members see it, the team pays. */
    team_id: text('team_id').references(() => teams.id),
  },
  (t) => [
    index('environments_user_idx').on(t.user_id),
    index('environments_team_idx').on(t.team_id),
    index('environments_host_idx').on(t.host_id),
    // One live environment per machine: the database, not the code, refuses a double allocation.
    uniqueIndex('environments_machine_uq').on(t.physical_machine_id),
  ],
);

/** Per-environment app ports the owner made public (default: owner only). */
export const appPorts = sqliteTable(
  'app_ports',
  {
    environment_id: text('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    port: integer('port').notNull(),
    public: integer('public', { mode: 'boolean' }).notNull().default(false),
    /** The owner's deadline for the app's first response byte (504 after it); null = none. */
    first_byte_timeout_ms: integer('first_byte_timeout_ms'),
    created_at: integer('created_at').notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.environment_id, t.port] })],
);

export const sshKeys = sqliteTable(
  'ssh_keys',
  {
    id: text('id').primaryKey(),
    user_id: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    public_key: text('public_key').notNull(),
    fingerprint: text('fingerprint').notNull(),
    created_at: integer('created_at').notNull().default(now),
  },
  (t) => [uniqueIndex('ssh_keys_user_fp_uq').on(t.user_id, t.fingerprint)],
);

/** SSH ports are unique per relay: the primary key is the allocator's lock. */
export const portAllocations = sqliteTable(
  'port_allocations',
  {
    host_id: text('host_id')
      .notNull()
      .references(() => hosts.id),
    port: integer('port').notNull(),
    environment_id: text('environment_id').notNull(),
    created_at: integer('created_at').notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.host_id, t.port] }), uniqueIndex('port_allocations_env_uq').on(t.environment_id)],
);

/** The seed's log line (timestamp, environment_id, type, event, source_ip, username, status) + detail. */
export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    timestamp: text('timestamp').notNull(),
    environment_id: text('environment_id'),
    type: text('type'),
    event: text('event').notNull(),
    source_ip: text('source_ip'),
    username: text('username'),
    status: text('status').notNull(),
    detail: text('detail', { mode: 'json' }),
    user_id: text('user_id'),
    actor_id: text('actor_id'),
    host_id: text('host_id'),
    dedupe_key: text('dedupe_key'),
  },
  (t) => [
    index('audit_user_idx').on(t.user_id, t.id),
    index('audit_env_idx').on(t.environment_id),
    uniqueIndex('audit_dedupe_uq').on(t.dedupe_key),
  ],
);

export const usageRecords = sqliteTable(
  'usage_records',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    environment_id: text('environment_id').notNull(),
    user_id: text('user_id').notNull(),
    kind: text('kind', { enum: ['hourly', 'monthly'] }).notNull(),
    period_start: integer('period_start').notNull(),
    period_end: integer('period_end'),
    unit_price: real('unit_price').notNull(),
    created_at: integer('created_at').notNull().default(now),
  },
  (t) => [index('usage_user_idx').on(t.user_id), index('usage_env_idx').on(t.environment_id)],
);

export const metricSamples = sqliteTable(
  'metric_samples',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    environment_id: text('environment_id').notNull(),
    ts: integer('ts').notNull(),
    cpu_usage: real('cpu_usage').notNull(),
    memory_usage: real('memory_usage').notNull(),
    gpu_usage: real('gpu_usage').notNull(),
    network_in: integer('network_in').notNull(),
    network_out: integer('network_out').notNull(),
    payload: text('payload', { mode: 'json' }),
    /** `<host id>:<environment id>:<ts>`: a sample re-sent by its relay (after an outage) is stored once. Null in rows from before. */
    dedupe_key: text('dedupe_key'),
  },
  (t) => [index('metric_env_ts_idx').on(t.environment_id, t.ts), uniqueIndex('metric_dedupe_idx').on(t.dedupe_key)],
);

export const sessionRecordings = sqliteTable(
  'session_recordings',
  {
    id: text('id').primaryKey(),
    environment_id: text('environment_id').notNull(),
    user_id: text('user_id').notNull(),
    username: text('username'),
    source_ip: text('source_ip'),
    started_at: integer('started_at').notNull(),
    ended_at: integer('ended_at'),
    size: integer('size').notNull().default(0),
    cast: text('cast').notNull(),
  },
  (t) => [index('recordings_env_idx').on(t.environment_id)],
);

/**
 * The CLI's device-code logins (`remotegpu login`): `id` is the SHA-256 of the device code (the CLI's secret), never
 * the code itself; `user_code` is what the renter compares and approves in the console. Single use: `consumed_at`.
 */
export const cliDeviceCodes = sqliteTable(
  'cli_device_codes',
  {
    id: text('id').primaryKey(),
    user_code: text('user_code').notNull(),
    client_name: text('client_name').notNull(),
    user_id: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
    approved_at: integer('approved_at'),
    consumed_at: integer('consumed_at'),
    expires_at: integer('expires_at').notNull(),
    created_at: integer('created_at').notNull().default(now),
  },
  (t) => [uniqueIndex('cli_device_codes_user_code_uq').on(t.user_code)],
);

// ---- money (issue 16). An account is a user id today; a team id once teams exist. Amounts are integer minor units
// (fen for CNY, cents for USD) of the platform's one currency (REMOTEGPU_CURRENCY), never floats.

export const LEDGER_KINDS = ['credit', 'charge', 'refund', 'adjustment'] as const;

/**
 * The append-only ledger: `amount` is signed (credits and refunds > 0, charges < 0, adjustments either way),
 * `balance_after` the account's balance once it was applied. `idempotency_key` makes every posting happen once.
 */
export const ledgerEntries = sqliteTable(
  'ledger_entries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    account_id: text('account_id').notNull(),
    kind: text('kind', { enum: LEDGER_KINDS }).notNull(),
    amount: integer('amount').notNull(),
    balance_after: integer('balance_after').notNull(),
    currency: text('currency').notNull(),
    idempotency_key: text('idempotency_key').notNull(),
    environment_id: text('environment_id'),
    description: text('description').notNull().default(''),
    actor_id: text('actor_id'),
    created_at: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('ledger_idem_uq').on(t.idempotency_key), index('ledger_account_idx').on(t.account_id, t.id)],
);

/** The stored balance, moved in the same transaction as each ledger entry (`last_entry_id` is the last applied). */
export const accountBalances = sqliteTable('account_balances', {
  account_id: text('account_id').primaryKey(),
  balance: integer('balance').notNull().default(0),
  last_entry_id: integer('last_entry_id').notNull().default(0),
  /** When balance.low / balance.zero was last sent; cleared when a credit lifts the balance again. */
  low_notified_at: integer('low_notified_at'),
  zero_notified_at: integer('zero_notified_at'),
  updated_at: integer('updated_at').notNull().default(now),
});

/**
 * Per-environment metering from the relay's running time: `seconds` is the cumulative running seconds the relay
 * reported last, `charged` what those cost so far (minor units). Reports are cumulative, so a repeat changes nothing.
 */
export const envMeters = sqliteTable('env_meters', {
  environment_id: text('environment_id').primaryKey(),
  account_id: text('account_id').notNull(),
  host_id: text('host_id').notNull(),
  seconds: integer('seconds').notNull().default(0),
  charged: integer('charged').notNull().default(0),
  /** Minor units per running hour, as last read from the catalogue (kept for reports after the row is deleted). */
  hourly_price: integer('hourly_price').notNull().default(0),
  updated_at: integer('updated_at').notNull().default(now),
});

/** Monthly rentals of physical machines: paid a period ahead, renewed from the balance or ended. */
export const rentals = sqliteTable(
  'rentals',
  {
    environment_id: text('environment_id').primaryKey(),
    account_id: text('account_id').notNull(),
    /** Price of one 30-day period, minor units. */
    period_price: integer('period_price').notNull(),
    period_start: integer('period_start').notNull(),
    period_end: integer('period_end').notNull(),
    periods: integer('periods').notNull().default(1),
    warned_3d_at: integer('warned_3d_at'),
    warned_1d_at: integer('warned_1d_at'),
    status: text('status', { enum: ['active', 'expired', 'released'] })
      .notNull()
      .default('active'),
  },
  (t) => [index('rentals_due_idx').on(t.status, t.period_end)],
);

/** Admin-set limits per account; null = no limit. */
export const accountQuotas = sqliteTable('account_quotas', {
  account_id: text('account_id').primaryKey(),
  max_gpus: integer('max_gpus'),
  max_environments: integer('max_environments'),
  updated_at: integer('updated_at').notNull().default(now),
});

/** Signed webhooks of an account; the signing secret is stored encrypted (it must be read to sign). */
export const webhooks = sqliteTable(
  'webhooks',
  {
    id: text('id').primaryKey(),
    account_id: text('account_id').notNull(),
    url: text('url').notNull(),
    secret_enc: text('secret_enc').notNull(),
    events: text('events', { mode: 'json' }).$type<string[]>().notNull(),
    active: integer('active', { mode: 'boolean' }).notNull().default(true),
    created_at: integer('created_at').notNull().default(now),
  },
  (t) => [index('webhooks_account_idx').on(t.account_id)],
);

/** One event to one webhook: retried with backoff until delivered or failed; the console's delivery log. */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    webhook_id: text('webhook_id').notNull(),
    account_id: text('account_id').notNull(),
    event: text('event').notNull(),
    payload: text('payload').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    next_attempt_at: integer('next_attempt_at').notNull(),
    last_status: integer('last_status'),
    last_error: text('last_error'),
    created_at: integer('created_at').notNull(),
    delivered_at: integer('delivered_at'),
  },
  (t) => [
    index('webhook_deliveries_due_idx').on(t.status, t.next_attempt_at),
    index('webhook_deliveries_hook_idx').on(t.webhook_id, t.id),
  ],
);

/**
 * Data volumes of deleted environments kept for the operator's retention period (REMOTEGPU_DATA_RETENTION_DAYS):
 * listed to their owner and restorable into a new environment until `expires_at`, then removed by the sweep.
 */
export const retainedData = sqliteTable(
  'retained_data',
  {
    id: text('id').primaryKey(),
    user_id: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    host_id: text('host_id')
      .notNull()
      .references(() => hosts.id),
    volume: text('volume').notNull(),
    /** The deleted environment's id and name, its image and data path, as the owner knew them. */
    environment_id: text('environment_id').notNull(),
    environment_name: text('environment_name').notNull(),
    image_id: integer('image_id'),
    data_path: text('data_path').notNull(),
    bytes: integer('bytes'),
    deleted_at: integer('deleted_at').notNull(),
    expires_at: integer('expires_at').notNull(),
    /** The deleted environment's team: its members list, restore and delete the data (null: `user_id`'s alone). */
    team_id: text('team_id').references(() => teams.id),
  },
  (t) => [
    index('retained_data_user_idx').on(t.user_id),
    index('retained_data_team_idx').on(t.team_id),
    uniqueIndex('retained_data_volume_uq').on(t.host_id, t.volume),
  ],
);
