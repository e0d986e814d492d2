CREATE TABLE `anchor_blocks` (
	`scope` text NOT NULL,
	`anchor_id` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`scope`, `anchor_id`)
);
--> statement-breakpoint
CREATE TABLE `audit` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text NOT NULL,
	`token_id` text,
	`action` text NOT NULL,
	`scope` text,
	`target` text,
	`outcome` text NOT NULL,
	`before_digest` text,
	`after_digest` text,
	`details` text,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `crls` (
	`issuer` text PRIMARY KEY NOT NULL,
	`crl_number` text NOT NULL,
	`this_update` text NOT NULL,
	`next_update` text NOT NULL,
	`der` blob NOT NULL,
	`url` text,
	`last_fetch_at` text,
	`last_error` text,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `upstream_files` (
	`upstream` text NOT NULL,
	`path` text NOT NULL,
	`bytes` blob NOT NULL,
	PRIMARY KEY(`upstream`, `path`)
);
--> statement-breakpoint
CREATE TABLE `upstreams` (
	`name` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`mode` text NOT NULL,
	`scopes` text,
	`root` blob NOT NULL,
	`state` text,
	`timestamp_version` integer,
	`last_success_at` text,
	`last_error` text,
	`created_at` text NOT NULL
);
