-- Indexes for management queries that scanned a whole growing table on every page view.

-- A conversion's detail lists the postbacks about it (`conversion_id = @id OR (click_id = ..)`) and the postback
-- log can be filtered by conversion: without this the OR scanned all of postback_log. Partial: postbacks
-- that resolved to no conversion (rejections) are not entered.
CREATE INDEX postback_log_conversion_idx ON postback_log (conversion_id) WHERE conversion_id IS NOT NULL;

-- The delivery log: an admin's page is the newest deliveries network-wide, and any caller can filter by conversion.
CREATE INDEX publisher_postbacks_created_idx ON publisher_postbacks (created_at, id);
CREATE INDEX publisher_postbacks_conversion_idx ON publisher_postbacks (conversion_id);

-- The hold worker approves pending conversions without flags; flagged ones wait for a human, and used to be
-- walked again on every pass (every 30 s) while their backlog grew. Now they are not in the index at all,
-- which also spares writing it for every flagged conversion.
DROP INDEX conversions_hold_idx;
CREATE INDEX conversions_hold_idx ON conversions (hold_until) WHERE status = 'pending' AND cardinality(flags) = 0;
