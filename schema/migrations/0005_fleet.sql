ALTER TABLE `environments` ADD `gpu_model` text;--> statement-breakpoint
ALTER TABLE `hosts` ADD `offline_reason` text;