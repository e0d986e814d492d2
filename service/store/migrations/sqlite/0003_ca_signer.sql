CREATE TABLE `cas` (
	`name` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`scopes` text NOT NULL,
	`certificate` text NOT NULL,
	`root` text,
	`key_ref` text NOT NULL,
	`subject_base` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `tokens` ADD `ca` text;--> statement-breakpoint
ALTER TABLE `tokens` ADD `max_validity_seconds` integer;