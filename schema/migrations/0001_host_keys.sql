ALTER TABLE `hosts` ADD `platform_public_key` text;--> statement-breakpoint
ALTER TABLE `hosts` ADD `ssh_host_keys` text;