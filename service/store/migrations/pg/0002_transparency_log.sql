CREATE TABLE "log_entries" (
	"idx" bigint PRIMARY KEY NOT NULL,
	"data" "bytea" NOT NULL,
	"timestamp_version" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "log_nodes" (
	"level" bigint NOT NULL,
	"idx" bigint NOT NULL,
	"hash" "bytea" NOT NULL,
	CONSTRAINT "log_nodes_level_idx_pk" PRIMARY KEY("level","idx")
);
--> statement-breakpoint
CREATE INDEX "log_entries_timestamp_version" ON "log_entries" USING btree ("timestamp_version");