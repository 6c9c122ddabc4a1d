ALTER TABLE `metric_samples` ADD `dedupe_key` text;--> statement-breakpoint
CREATE UNIQUE INDEX `metric_dedupe_idx` ON `metric_samples` (`dedupe_key`);