CREATE TABLE `trust_history` (
	`version` integer NOT NULL,
	`scope` text NOT NULL,
	`document` blob,
	`published_at` text NOT NULL,
	PRIMARY KEY(`version`, `scope`)
);
--> statement-breakpoint
CREATE INDEX `trust_history_scope` ON `trust_history` (`scope`,`version`);--> statement-breakpoint
CREATE TABLE `clients` (
	`client_id` text PRIMARY KEY NOT NULL,
	`token_id` text NOT NULL,
	`version` integer NOT NULL,
	`labels` text NOT NULL,
	`scopes` text NOT NULL,
	`format` text NOT NULL,
	`keyshare_version` text NOT NULL,
	`summary` text,
	`reported_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `clients_reported_at` ON `clients` (`reported_at`);
