-- Bench B9 (issue 17, ninth round): a trust document is stored once, as its history row, which
-- also serves it as a target (service/store/rows.ts publishRows). Each history row gets the
-- digest of the target it was published as, where that target is still stored; those targets
-- then leave tuf_targets. Documents without a history row (published before 0003) stay there.
ALTER TABLE "trust_history" ADD COLUMN "sha256" text COLLATE "C";
--> statement-breakpoint
UPDATE "trust_history" h SET "sha256" = t."sha256" FROM "tuf_targets" t
WHERE h."document" IS NOT NULL
	AND t."path" = (CASE WHEN h."scope" = '*' THEN 'trust/_default.json' ELSE 'trust/' || h."scope" || '.json' END)
	AND t."bytes" = h."document";
--> statement-breakpoint
DELETE FROM "tuf_targets" t USING "trust_history" h
WHERE t."path" LIKE 'trust/%'
	AND h."scope" = (CASE WHEN t."path" = 'trust/_default.json' THEN '*' WHEN t."path" LIKE 'trust/%.json' THEN substr(t."path", 7, length(t."path") - 11) END)
	AND h."sha256" = t."sha256";
