CREATE TABLE `retained_data` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`host_id` text NOT NULL,
	`volume` text NOT NULL,
	`environment_id` text NOT NULL,
	`environment_name` text NOT NULL,
	`image_id` integer,
	`data_path` text NOT NULL,
	`bytes` integer,
	`deleted_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `retained_data_user_idx` ON `retained_data` (`user_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `retained_data_volume_uq` ON `retained_data` (`host_id`,`volume`);--> statement-breakpoint
ALTER TABLE `environments` ADD `data_volume` text;--> statement-breakpoint
ALTER TABLE `environments` ADD `data_bytes` integer;--> statement-breakpoint
ALTER TABLE `environments` ADD `data_measured_at` integer;--> statement-breakpoint
ALTER TABLE `environments` ADD `gpu_mode` text DEFAULT 'gpu' NOT NULL;--> statement-breakpoint
ALTER TABLE `environments` ADD `idle_stop_minutes` integer;--> statement-breakpoint
ALTER TABLE `environments` ADD `gpu_idle_threshold_pct` integer;--> statement-breakpoint
ALTER TABLE `environments` ADD `scheduled_stop_at` integer;--> statement-breakpoint
ALTER TABLE `images` ADD `no_gpu_hourly_price` real;--> statement-breakpoint
ALTER TABLE `images` ADD `data_path` text DEFAULT '/root/data' NOT NULL;--> statement-breakpoint
ALTER TABLE `images` ADD `owner_id` text;--> statement-breakpoint
ALTER TABLE `images` ADD `status` text DEFAULT 'ready' NOT NULL;--> statement-breakpoint
ALTER TABLE `images` ADD `status_reason` text;--> statement-breakpoint
ALTER TABLE `images` ADD `size_bytes` integer;--> statement-breakpoint
ALTER TABLE `images` ADD `source_environment_id` text;