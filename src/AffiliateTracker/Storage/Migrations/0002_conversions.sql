-- Conversions, their status history, the inbound postback log and the outbound publisher postbacks.

-- Conversion into the offer's currency for postbacks in another currency; without a rate they are refused.
CREATE TABLE currency_rates (
    from_currency   char(3)     NOT NULL,
    to_currency     char(3)     NOT NULL,
    rate            numeric(18,8) NOT NULL CHECK (rate > 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (from_currency, to_currency)
);

CREATE TABLE conversions (
    id              text        PRIMARY KEY,        -- ULID, made by the instance that took the postback
    click_id        text        NOT NULL,
    click_created_at timestamptz NOT NULL,
    offer_id        bigint      NOT NULL REFERENCES offers(id),
    advertiser_id   bigint      NOT NULL REFERENCES advertisers(id),
    publisher_id    bigint      NOT NULL REFERENCES publishers(id),
    goal            text        NOT NULL,
    txid            text,
    -- What makes two postbacks the same conversion: 't:' || txid, or 'c:' || click_id for
    -- once-per-click goals reported without a txid. The unique key below is the final word on dedupe.
    dedupe_key      text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    amount          numeric(18,4),
    currency        char(3)     NOT NULL,
    original_amount numeric(18,4),
    original_currency char(3),
    payout          numeric(18,4) NOT NULL CHECK (payout >= 0),
    revenue         numeric(18,4) NOT NULL CHECK (revenue >= 0),
    sub1 text, sub2 text, sub3 text, sub4 text, sub5 text,
    source          text,
    click_ip        inet,
    country         char(2),
    -- Reasons for a human to look before this is paid (too_fast, ip_velocity, bot_click, over_cap);
    -- a flagged conversion is never approved automatically.
    flags           text[]      NOT NULL DEFAULT '{}',
    via             text        NOT NULL CHECK (via IN ('postback', 'pixel')),
    created_at      timestamptz NOT NULL,
    hold_until      timestamptz NOT NULL,
    status_changed_at timestamptz NOT NULL,
    UNIQUE (offer_id, goal, dedupe_key)
);
CREATE INDEX conversions_hold_idx ON conversions (hold_until) WHERE status = 'pending';
CREATE INDEX conversions_publisher_idx ON conversions (publisher_id, created_at);
CREATE INDEX conversions_offer_idx ON conversions (offer_id, created_at);
CREATE INDEX conversions_advertiser_idx ON conversions (advertiser_id, created_at);
CREATE INDEX conversions_click_idx ON conversions (click_id);

-- Every status change: from, to, who, why, when. event_id makes a re-delivered change a no-op.
CREATE TABLE conversion_status_history (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    conversion_id   text        NOT NULL REFERENCES conversions(id),
    from_status     text,
    to_status       text        NOT NULL,
    actor           text        NOT NULL,
    reason          text,
    changed_at      timestamptz NOT NULL
);
CREATE INDEX conversion_status_history_conversion_idx ON conversion_status_history (conversion_id, changed_at);

-- Every inbound postback and pixel with its decision, so "why was my conversion not counted?" has an answer.
CREATE TABLE postback_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    received_at     timestamptz NOT NULL,
    via             text        NOT NULL,
    advertiser_id   bigint,
    offer_id        bigint,
    click_id        text,
    txid            text,
    goal            text,
    decision        text        NOT NULL,
    http_status     integer     NOT NULL,
    message         text,
    conversion_id   text,
    remote_ip       inet,
    query           text        -- the request's parameters, with the token removed
);
CREATE INDEX postback_log_advertiser_idx ON postback_log (advertiser_id, received_at);
CREATE INDEX postback_log_received_idx ON postback_log (received_at);
CREATE INDEX postback_log_click_idx ON postback_log (click_id);
CREATE INDEX postback_log_txid_idx ON postback_log (txid);

-- Outbound publisher postbacks: a durable queue (one row per conversion event) and the delivery log.
CREATE TABLE publisher_postbacks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    publisher_id    bigint      NOT NULL REFERENCES publishers(id),
    conversion_id   text        NOT NULL REFERENCES conversions(id),
    url             text        NOT NULL,
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    locked_until    timestamptz,
    last_status_code integer,
    last_error      text,
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz
);
CREATE INDEX publisher_postbacks_due_idx ON publisher_postbacks (next_attempt_at) WHERE state = 'pending';
CREATE INDEX publisher_postbacks_publisher_idx ON publisher_postbacks (publisher_id, created_at);

CREATE TABLE publisher_postback_attempts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    postback_id     bigint      NOT NULL REFERENCES publisher_postbacks(id),
    attempted_at    timestamptz NOT NULL,
    status_code     integer,
    error           text,
    duration_ms     integer     NOT NULL
);
CREATE INDEX publisher_postback_attempts_postback_idx ON publisher_postback_attempts (postback_id);

ALTER TABLE publishers ADD COLUMN postback_failures integer NOT NULL DEFAULT 0;
