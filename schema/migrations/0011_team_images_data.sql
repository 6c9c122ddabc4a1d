ALTER TABLE `images` ADD `team_id` text REFERENCES teams(id);--> statement-breakpoint
ALTER TABLE `retained_data` ADD `team_id` text REFERENCES teams(id);--> statement-breakpoint
CREATE INDEX `retained_data_team_idx` ON `retained_data` (`team_id`);