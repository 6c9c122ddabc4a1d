CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`last_used_at` integer,
	`expires_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash_uq` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `api_tokens_user_idx` ON `api_tokens` (`user_id`);--> statement-breakpoint
CREATE TABLE `app_ports` (
	`environment_id` text NOT NULL,
	`port` integer NOT NULL,
	`public` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`environment_id`, `port`),
	FOREIGN KEY (`environment_id`) REFERENCES `environments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `audit_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`timestamp` text NOT NULL,
	`environment_id` text,
	`type` text,
	`event` text NOT NULL,
	`source_ip` text,
	`username` text,
	`status` text NOT NULL,
	`detail` text,
	`user_id` text,
	`actor_id` text,
	`host_id` text,
	`dedupe_key` text
);
--> statement-breakpoint
CREATE INDEX `audit_user_idx` ON `audit_events` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `audit_env_idx` ON `audit_events` (`environment_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `audit_dedupe_uq` ON `audit_events` (`dedupe_key`);--> statement-breakpoint
CREATE TABLE `environments` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`ssh_host` text NOT NULL,
	`ssh_port` integer NOT NULL,
	`ssh_username` text DEFAULT 'root' NOT NULL,
	`target_ip` text DEFAULT '' NOT NULL,
	`physical_machine_id` integer,
	`container_id` text,
	`image_id` integer,
	`user_id` text NOT NULL,
	`status` text NOT NULL,
	`status_reason` text,
	`host_id` text NOT NULL,
	`gpu_count` integer DEFAULT 0 NOT NULL,
	`gpu_devices` text,
	`cpu_cores` integer DEFAULT 0 NOT NULL,
	`memory_gb` integer DEFAULT 0 NOT NULL,
	`password_hash` text NOT NULL,
	`password_enc` text NOT NULL,
	`target_host_key` text,
	`recording` integer DEFAULT false NOT NULL,
	`request_id` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`started_at` integer,
	FOREIGN KEY (`physical_machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`image_id`) REFERENCES `images`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `environments_user_idx` ON `environments` (`user_id`);--> statement-breakpoint
CREATE INDEX `environments_host_idx` ON `environments` (`host_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `environments_machine_uq` ON `environments` (`physical_machine_id`);--> statement-breakpoint
CREATE TABLE `hosts` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`public_ssh_host` text NOT NULL,
	`shared_ssh_port` integer DEFAULT 2222 NOT NULL,
	`status` text DEFAULT 'offline' NOT NULL,
	`last_seen_at` integer,
	`inventory` text,
	`agent_version` text,
	`drained` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `hosts_name_uq` ON `hosts` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `hosts_token_uq` ON `hosts` (`token_hash`);--> statement-breakpoint
CREATE TABLE `images` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`docker_ref` text NOT NULL,
	`has_sshd` integer DEFAULT false NOT NULL,
	`hourly_price` real NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `images_name_uq` ON `images` (`name`);--> statement-breakpoint
CREATE TABLE `machines` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`region` text NOT NULL,
	`gpu_model` text NOT NULL,
	`gpu_count` integer NOT NULL,
	`gpu_memory` integer NOT NULL,
	`cpu_cores` integer NOT NULL,
	`memory_gb` integer NOT NULL,
	`disk_gb` integer NOT NULL,
	`target_ip` text NOT NULL,
	`ssh_port` integer DEFAULT 22 NOT NULL,
	`host_id` text NOT NULL,
	`monthly_price` real NOT NULL,
	`status` text DEFAULT 'available' NOT NULL,
	`host_key` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `machines_name_uq` ON `machines` (`name`);--> statement-breakpoint
CREATE INDEX `machines_market_idx` ON `machines` (`status`,`region`,`gpu_model`);--> statement-breakpoint
CREATE TABLE `metric_samples` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`environment_id` text NOT NULL,
	`ts` integer NOT NULL,
	`cpu_usage` real NOT NULL,
	`memory_usage` real NOT NULL,
	`gpu_usage` real NOT NULL,
	`network_in` integer NOT NULL,
	`network_out` integer NOT NULL,
	`payload` text
);
--> statement-breakpoint
CREATE INDEX `metric_env_ts_idx` ON `metric_samples` (`environment_id`,`ts`);--> statement-breakpoint
CREATE TABLE `port_allocations` (
	`host_id` text NOT NULL,
	`port` integer NOT NULL,
	`environment_id` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`host_id`, `port`),
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `port_allocations_env_uq` ON `port_allocations` (`environment_id`);--> statement-breakpoint
CREATE TABLE `session_recordings` (
	`id` text PRIMARY KEY NOT NULL,
	`environment_id` text NOT NULL,
	`user_id` text NOT NULL,
	`username` text,
	`source_ip` text,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`size` integer DEFAULT 0 NOT NULL,
	`cast` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `recordings_env_idx` ON `session_recordings` (`environment_id`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`expires_at` integer NOT NULL,
	`source_ip` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sessions_user_idx` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE TABLE `ssh_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`name` text NOT NULL,
	`public_key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssh_keys_user_fp_uq` ON `ssh_keys` (`user_id`,`fingerprint`);--> statement-breakpoint
CREATE TABLE `usage_records` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`environment_id` text NOT NULL,
	`user_id` text NOT NULL,
	`kind` text NOT NULL,
	`period_start` integer NOT NULL,
	`period_end` integer,
	`unit_price` real NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `usage_user_idx` ON `usage_records` (`user_id`);--> statement-breakpoint
CREATE INDEX `usage_env_idx` ON `usage_records` (`environment_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text DEFAULT 'user' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_uq` ON `users` (`email`);