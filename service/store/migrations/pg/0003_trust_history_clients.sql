CREATE TABLE "trust_history" (
	"version" bigint NOT NULL,
	"scope" text COLLATE "C" NOT NULL,
	"document" bytea,
	"published_at" text COLLATE "C" NOT NULL,
	CONSTRAINT "trust_history_version_scope_pk" PRIMARY KEY("version","scope")
);
--> statement-breakpoint
CREATE INDEX "trust_history_scope" ON "trust_history" USING btree ("scope","version");--> statement-breakpoint
CREATE TABLE "clients" (
	"client_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"token_id" text COLLATE "C" NOT NULL,
	"version" bigint NOT NULL,
	"labels" json NOT NULL,
	"scopes" json NOT NULL,
	"format" text COLLATE "C" NOT NULL,
	"keyshare_version" text COLLATE "C" NOT NULL,
	"summary" json,
	"reported_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE INDEX "clients_reported_at" ON "clients" USING btree ("reported_at");
