-- Bench B9 (issue 17, ninth round): a trust document is stored once, as its history row, which
-- also serves it as a target (service/store/rows.ts publishRows). Each history row gets the
-- digest of the target it was published as, where that target is still stored; those targets
-- then leave tuf_targets. Documents without a history row (published before 0005) stay there.
ALTER TABLE `trust_history` ADD `sha256` text;
--> statement-breakpoint
UPDATE `trust_history` SET `sha256` = (
	SELECT t.`sha256` FROM `tuf_targets` t
	WHERE t.`path` = (CASE WHEN `trust_history`.`scope` = '*' THEN 'trust/_default.json' ELSE 'trust/' || `trust_history`.`scope` || '.json' END)
		AND t.`bytes` = `trust_history`.`document`
	LIMIT 1
) WHERE `document` IS NOT NULL;
--> statement-breakpoint
DELETE FROM `tuf_targets` WHERE `path` LIKE 'trust/%' AND EXISTS (
	SELECT 1 FROM `trust_history` h
	WHERE h.`scope` = (CASE WHEN `tuf_targets`.`path` = 'trust/_default.json' THEN '*' WHEN `tuf_targets`.`path` LIKE 'trust/%.json' THEN substr(`tuf_targets`.`path`, 7, length(`tuf_targets`.`path`) - 11) END)
		AND h.`sha256` = `tuf_targets`.`sha256`
);
