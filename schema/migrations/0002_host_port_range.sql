ALTER TABLE `hosts` ADD `ssh_port_min` integer DEFAULT 50000 NOT NULL;--> statement-breakpoint
ALTER TABLE `hosts` ADD `ssh_port_max` integer DEFAULT 59999 NOT NULL;