-- Payout runs, clawbacks, reconciliation with advertisers, and the click rollups reports read.

CREATE TABLE payout_runs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period_end      timestamptz NOT NULL,   -- conversions approved before this are in the run
    status          text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'approved', 'paid', 'cancelled')),
    created_by      text        NOT NULL,
    created_at      timestamptz NOT NULL,
    approved_by     text,
    approved_at     timestamptz,
    cancelled_at    timestamptz
);

CREATE TABLE payout_lines (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          bigint      NOT NULL REFERENCES payout_runs(id),
    publisher_id    bigint      NOT NULL REFERENCES publishers(id),
    currency        char(3)     NOT NULL,
    amount          numeric(18,4) NOT NULL,  -- summed by the database from what the line claims
    status          text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'cancelled')),
    payment_reference text,
    paid_at         timestamptz,
    paid_by         text,
    UNIQUE (run_id, publisher_id, currency)
);
CREATE INDEX payout_lines_publisher_idx ON payout_lines (publisher_id);

-- The claim: one column, so a conversion is in at most one payout line by construction; claimed with a
-- conditional UPDATE (WHERE payout_line_id IS NULL), released when a run is cancelled.
ALTER TABLE conversions ADD COLUMN payout_line_id bigint REFERENCES payout_lines(id);
ALTER TABLE conversions ADD CONSTRAINT conversions_claim_status CHECK (payout_line_id IS NULL OR status IN ('approved', 'rejected'));
CREATE INDEX conversions_unclaimed_idx ON conversions (publisher_id, currency) WHERE status = 'approved' AND payout_line_id IS NULL;
CREATE INDEX conversions_line_idx ON conversions (payout_line_id) WHERE payout_line_id IS NOT NULL;
CREATE INDEX conversions_txid_idx ON conversions (advertiser_id, txid);

-- A conversion rejected after it was paid: a negative adjustment carried into the publisher's next run.
CREATE TABLE clawbacks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversion_id   text        NOT NULL UNIQUE REFERENCES conversions(id),
    publisher_id    bigint      NOT NULL REFERENCES publishers(id),
    currency        char(3)     NOT NULL,
    amount          numeric(18,4) NOT NULL CHECK (amount > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    payout_line_id  bigint REFERENCES payout_lines(id)
);

-- Every rejection of a claimed conversion, whichever path made it (postback, API, reconciliation):
-- from an unpaid line it is released and the line shrinks; from a paid line it becomes a clawback.
CREATE FUNCTION conversion_rejected_after_claim() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    line_status text;
BEGIN
    IF NEW.status = 'rejected' AND OLD.status <> 'rejected' AND OLD.payout_line_id IS NOT NULL THEN
        SELECT status INTO line_status FROM payout_lines WHERE id = OLD.payout_line_id FOR UPDATE;
        IF line_status = 'paid' THEN
            INSERT INTO clawbacks (conversion_id, publisher_id, currency, amount)
            VALUES (NEW.id, NEW.publisher_id, NEW.currency, NEW.payout)
            ON CONFLICT (conversion_id) DO NOTHING;
        ELSE
            NEW.payout_line_id := NULL;
            UPDATE payout_lines SET amount = amount - OLD.payout WHERE id = OLD.payout_line_id;
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER conversion_rejected_after_claim BEFORE UPDATE OF status ON conversions
    FOR EACH ROW EXECUTE FUNCTION conversion_rejected_after_claim();

-- Who did what to money outside conversion statuses (runs, lines), for the audit trail.
CREATE TABLE money_audit (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL,
    actor           text        NOT NULL,
    action          text        NOT NULL,
    run_id          bigint,
    line_id         bigint,
    detail          text
);

-- Reconciliation: an advertiser's report, its rows, and the comparison.
CREATE TABLE reconciliations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    advertiser_id   bigint      NOT NULL REFERENCES advertisers(id),
    offer_id        bigint REFERENCES offers(id),
    period_from     timestamptz,
    period_to       timestamptz,
    uploaded_by     text        NOT NULL,
    created_at      timestamptz NOT NULL,
    rows_read       integer     NOT NULL DEFAULT 0,
    rows_malformed  integer     NOT NULL DEFAULT 0,
    applied_at      timestamptz,
    applied_by      text,
    applied_changes integer
);

CREATE TABLE reconciliation_rows (
    reconciliation_id bigint    NOT NULL REFERENCES reconciliations(id) ON DELETE CASCADE,
    line_no         integer     NOT NULL,
    txid            text        NOT NULL,
    status          text        NOT NULL,
    amount          numeric(18,4),
    reported_at     timestamptz,
    PRIMARY KEY (reconciliation_id, line_no)
);
CREATE INDEX reconciliation_rows_txid_idx ON reconciliation_rows (reconciliation_id, txid);

-- Click rollups for reports, kept by the click flusher in the statement that inserts the clicks (only
-- rows actually inserted count, so a re-delivered batch adds nothing). Three narrow tables rather than
-- one wide one: a rollup keyed by hour and every sub-id would hold about a row per click.
--   by hour: time (any time zone), offer, publisher;  by day: + country;  by day: + sub1..sub5.
-- '' stands for "none" in key columns.
CREATE TABLE click_rollup_hour (
    hour            timestamptz NOT NULL,
    offer_id        bigint      NOT NULL,
    publisher_id    bigint      NOT NULL,
    clicks          bigint      NOT NULL,
    unique_clicks   bigint      NOT NULL,
    PRIMARY KEY (hour, offer_id, publisher_id)
);
CREATE TABLE click_rollup_country (
    day             date        NOT NULL,   -- UTC
    offer_id        bigint      NOT NULL,
    publisher_id    bigint      NOT NULL,
    country         text        NOT NULL,
    clicks          bigint      NOT NULL,
    unique_clicks   bigint      NOT NULL,
    PRIMARY KEY (day, offer_id, publisher_id, country)
);
CREATE TABLE click_rollup_subs (
    day             date        NOT NULL,   -- UTC
    offer_id        bigint      NOT NULL,
    publisher_id    bigint      NOT NULL,
    sub1 text NOT NULL, sub2 text NOT NULL, sub3 text NOT NULL, sub4 text NOT NULL, sub5 text NOT NULL,
    clicks          bigint      NOT NULL,
    unique_clicks   bigint      NOT NULL,
    PRIMARY KEY (day, offer_id, publisher_id, sub1, sub2, sub3, sub4, sub5)
);
CREATE INDEX conversions_created_idx ON conversions (created_at);

-- Clicks flushed before this migration.
INSERT INTO click_rollup_hour
SELECT date_trunc('hour', created_at), offer_id, publisher_id, count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot)
FROM clicks GROUP BY 1, 2, 3;
INSERT INTO click_rollup_country
SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, coalesce(country, ''), count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot)
FROM clicks GROUP BY 1, 2, 3, 4;
INSERT INTO click_rollup_subs
SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, coalesce(sub1, ''), coalesce(sub2, ''), coalesce(sub3, ''),
       coalesce(sub4, ''), coalesce(sub5, ''), count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot)
FROM clicks GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
