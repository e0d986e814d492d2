CREATE TABLE "cas" (
	"name" text COLLATE "C" PRIMARY KEY NOT NULL,
	"kind" text COLLATE "C" NOT NULL,
	"scopes" json NOT NULL,
	"certificate" text COLLATE "C" NOT NULL,
	"root" text COLLATE "C",
	"key_ref" text COLLATE "C" NOT NULL,
	"subject_base" json NOT NULL,
	"created_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "ca" text COLLATE "C";--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "max_validity_seconds" bigint;