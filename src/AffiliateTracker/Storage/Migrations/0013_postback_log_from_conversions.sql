-- A postback or pixel that created a conversion is that conversion: its log entry repeated the click, txid, offer,
-- advertiser, goal and time, and cost a row and seven index entries, nearly half of a postback's WAL
-- (benchmarks/README.md). The conversion now keeps what only the request knew, the caller's address and its
-- parameters (secrets removed); postback_log keeps the postbacks that created nothing.
ALTER TABLE conversions ADD COLUMN postback_ip inet, ADD COLUMN postback_query text;

UPDATE conversions c SET postback_ip = l.remote_ip, postback_query = l.query
FROM postback_log l WHERE l.decision = 'created' AND l.conversion_id = c.id;
DELETE FROM postback_log l WHERE l.decision = 'created' AND EXISTS (SELECT 1 FROM conversions c WHERE c.id = l.conversion_id);

-- The log as the API, the console and the checks read it: every postback and pixel with its decision. The message
-- of a created entry is the one it was answered with, made from the conversion's flags (they never change) and
-- whether it still waits for the advertiser's confirmation (once confirmed, it reads "Conversion recorded.").
CREATE VIEW postback_log_entries AS
SELECT id::text AS id, received_at, via, advertiser_id, offer_id, click_id, txid, goal, decision, http_status, message,
       conversion_id, remote_ip, query
FROM postback_log
UNION ALL
SELECT id, created_at, via, advertiser_id, offer_id, click_id, txid, goal, 'created', 200,
       CASE WHEN cardinality(flags) > 0 THEN format('Conversion recorded and held for review (%s).', array_to_string(flags, ', '))
            WHEN awaiting_confirmation THEN 'Conversion recorded; it waits for the advertiser''s confirmation before it can be approved.'
            ELSE 'Conversion recorded.' END,
       id, postback_ip, postback_query
FROM conversions;

-- The log's txid search runs without an advertiser for admins, as postback_log's own txid index served it; txid
-- first serves that, and the advertiser's searches and reconciliation (advertiser and txid) as before.
DROP INDEX conversions_txid_idx;
CREATE INDEX conversions_txid_idx ON conversions (txid, advertiser_id);
