-- A browser can forge what a conversion pixel reports (its txid and its amount), so a pixel conversion is
-- not paid on the browser's word (Conversions/PostbackHandler.cs).

-- Until the advertiser confirms it (an S2S postback with the same txid, or approval through the API) a
-- conversion reported by an unsigned pixel stays pending after its hold: the hold worker passes it by.
ALTER TABLE conversions ADD COLUMN awaiting_confirmation boolean NOT NULL DEFAULT false;
-- An offer whose advertiser accepts the risk may let pixel conversions be approved when the hold ends.
ALTER TABLE offers ADD COLUMN pixel_auto_approve boolean NOT NULL DEFAULT false;
-- Per goal: the largest sale amount an unsigned pixel may report (above it the conversion is capped to it and
-- flagged amount_over_limit), and a fixed sale amount that replaces whatever an unsigned pixel reports.
ALTER TABLE goals ADD COLUMN max_amount numeric(18,4) CHECK (max_amount >= 0),
                  ADD COLUMN pixel_amount numeric(18,4) CHECK (pixel_amount >= 0);

-- The hold worker's index leaves out what it never approves: flagged and unconfirmed conversions.
DROP INDEX conversions_hold_idx;
CREATE INDEX conversions_hold_idx ON conversions (hold_until)
    WHERE status = 'pending' AND cardinality(flags) = 0 AND NOT awaiting_confirmation;
