CREATE TABLE `log_entries` (
	`idx` integer PRIMARY KEY NOT NULL,
	`data` blob NOT NULL,
	`timestamp_version` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `log_entries_timestamp_version` ON `log_entries` (`timestamp_version`);--> statement-breakpoint
CREATE TABLE `log_nodes` (
	`level` integer NOT NULL,
	`idx` integer NOT NULL,
	`hash` blob NOT NULL,
	PRIMARY KEY(`level`, `idx`)
);
