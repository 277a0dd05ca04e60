-- A conversion's first status history row (created, in what status, by whom, why) repeated the conversion, and cost
-- a row, three index entries and a reference check per conversion: a quarter to a third of a postback's PostgreSQL CPU
-- (benchmarks/README.md). The conversion now keeps what only that row knew, the status it was created in and the
-- reason its postback gave; conversion_status_history keeps the changes after it. Who created it follows from the
-- conversion itself, as the postback handler names it: the advertiser, for a postback; "pixel", for a pixel.
ALTER TABLE conversions ADD COLUMN created_status text, ADD COLUMN created_reason text;

-- Moved only where the row says exactly what the conversion now says; any other first row stays in the table.
UPDATE conversions c SET created_status = h.to_status, created_reason = h.reason
FROM conversion_status_history h
WHERE h.conversion_id = c.id AND h.from_status IS NULL AND h.changed_at = c.created_at
  AND h.actor = CASE WHEN c.via = 'pixel' THEN 'pixel' ELSE 'advertiser:' || c.advertiser_id END;
DELETE FROM conversion_status_history h USING conversions c
WHERE h.conversion_id = c.id AND h.from_status IS NULL AND c.created_status IS NOT NULL AND h.to_status = c.created_status
  AND h.reason IS NOT DISTINCT FROM c.created_reason AND h.changed_at = c.created_at
  AND h.actor = CASE WHEN c.via = 'pixel' THEN 'pixel' ELSE 'advertiser:' || c.advertiser_id END;

-- The history as the API, the ledger check and the console read it: the creation, then every change. A conversion
-- written by a server from before this migration (during a rolling upgrade) has no created_status and its first
-- row in the table, so each conversion shows one creation entry either way. The creation sorts first (id 0).
CREATE VIEW conversion_status_history_entries AS
SELECT id, conversion_id, from_status, to_status, actor, reason, changed_at
FROM conversion_status_history
UNION ALL
SELECT 0, id, NULL, created_status, CASE WHEN via = 'pixel' THEN 'pixel' ELSE 'advertiser:' || advertiser_id END,
       coalesce(created_reason, 'created'), created_at
FROM conversions WHERE created_status IS NOT NULL;
