ALTER TABLE "upstreams" ADD COLUMN "token" text COLLATE "C";
