CREATE TABLE `anchors` (
	`scope` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`material` text NOT NULL,
	`trusted_identities` text,
	`key_id` text,
	`serial` text,
	`issuer_name` text,
	`subject` text,
	`not_after` text,
	`source` text,
	`created_at` text NOT NULL,
	PRIMARY KEY(`scope`, `id`)
);
--> statement-breakpoint
CREATE INDEX `anchors_id` ON `anchors` (`id`);--> statement-breakpoint
CREATE TABLE `dirty` (
	`scope` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `revocations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`issuer` text,
	`serial` text,
	`scope` text NOT NULL,
	`reason` text NOT NULL,
	`revoked_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `revocations_unique` ON `revocations` (`kind`,`subject`,`scope`);--> statement-breakpoint
CREATE TABLE `scopes` (
	`scope` text PRIMARY KEY NOT NULL,
	`inherit` integer NOT NULL,
	`level` text,
	`source` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`hash` text NOT NULL,
	`role` text NOT NULL,
	`scopes` text,
	`expires_at` text,
	`created_at` text NOT NULL,
	`revoked_at` text
);
--> statement-breakpoint
CREATE TABLE `trust_docs` (
	`scope` text PRIMARY KEY NOT NULL,
	`version` integer NOT NULL,
	`issued_at` text NOT NULL,
	`digest` text NOT NULL,
	`deleted` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `tuf_metadata` (
	`role` text NOT NULL,
	`version` integer NOT NULL,
	`bytes` blob NOT NULL,
	`expires` text NOT NULL,
	`published_at` text NOT NULL,
	PRIMARY KEY(`role`, `version`)
);
--> statement-breakpoint
CREATE TABLE `tuf_targets` (
	`sha256` text NOT NULL,
	`path` text NOT NULL,
	`bytes` blob NOT NULL,
	`published_at` text NOT NULL,
	PRIMARY KEY(`sha256`, `path`)
);
