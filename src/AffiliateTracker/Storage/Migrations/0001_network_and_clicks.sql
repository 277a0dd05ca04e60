-- The network's configuration, API keys and clicks. Money is numeric, time is timestamptz (UTC).

CREATE TABLE advertisers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status          text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    -- SHA-256 of the postback token; the token itself is shown once, when it is issued.
    postback_token_hash bytea,
    -- Optional allowlist of addresses postbacks may come from (empty = any).
    postback_ips    inet[]      NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE publishers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status          text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    min_payout      numeric(18,2) NOT NULL DEFAULT 50 CHECK (min_payout >= 0),
    postback_url    text,
    postback_paused_reason text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE offers (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    advertiser_id           bigint      NOT NULL REFERENCES advertisers(id),
    name                    text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status                  text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    landing_url             text        NOT NULL,
    fallback_url            text,
    currency                char(3)     NOT NULL DEFAULT 'USD',
    attribution_window_hours integer    NOT NULL DEFAULT 720 CHECK (attribution_window_hours BETWEEN 1 AND 8760),
    hold_period_hours       integer     NOT NULL DEFAULT 720 CHECK (hold_period_hours BETWEEN 0 AND 8760),
    manual_approval         boolean     NOT NULL DEFAULT false,
    default_goal            text        NOT NULL DEFAULT 'default',
    -- Caps are checked against live counters in Redis; null = no cap.
    daily_click_cap         integer CHECK (daily_click_cap > 0),
    monthly_click_cap       integer CHECK (monthly_click_cap > 0),
    daily_conversion_cap    integer CHECK (daily_conversion_cap > 0),
    monthly_conversion_cap  integer CHECK (monthly_conversion_cap > 0),
    -- ISO 3166-1 alpha-2 codes; empty = every country.
    allowed_countries       text[]      NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX offers_advertiser_idx ON offers (advertiser_id);

CREATE TABLE goals (
    offer_id        bigint      NOT NULL REFERENCES offers(id) ON DELETE CASCADE,
    code            text        NOT NULL CHECK (code ~ '^[a-z0-9_-]{1,50}$'),
    name            text        NOT NULL,
    payout_type     text        NOT NULL CHECK (payout_type IN ('fixed', 'percent')),
    payout          numeric(18,4) NOT NULL CHECK (payout >= 0),
    revenue_type    text        NOT NULL CHECK (revenue_type IN ('fixed', 'percent')),
    revenue         numeric(18,4) NOT NULL CHECK (revenue >= 0),
    -- A lead-type goal converts at most once per click when no txid is sent.
    once_per_click  boolean     NOT NULL DEFAULT true,
    PRIMARY KEY (offer_id, code)
);

-- Which publishers may run which offers, with optional per-publisher caps.
CREATE TABLE offer_access (
    offer_id        bigint      NOT NULL REFERENCES offers(id) ON DELETE CASCADE,
    publisher_id    bigint      NOT NULL REFERENCES publishers(id),
    daily_click_cap         integer CHECK (daily_click_cap > 0),
    monthly_click_cap       integer CHECK (monthly_click_cap > 0),
    daily_conversion_cap    integer CHECK (daily_conversion_cap > 0),
    monthly_conversion_cap  integer CHECK (monthly_conversion_cap > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (offer_id, publisher_id)
);
CREATE INDEX offer_access_publisher_idx ON offer_access (publisher_id);

CREATE TABLE payout_overrides (
    offer_id        bigint      NOT NULL,
    publisher_id    bigint      NOT NULL,
    goal_code       text        NOT NULL,
    payout_type     text        NOT NULL CHECK (payout_type IN ('fixed', 'percent')),
    payout          numeric(18,4) NOT NULL CHECK (payout >= 0),
    PRIMARY KEY (offer_id, publisher_id, goal_code),
    FOREIGN KEY (offer_id, publisher_id) REFERENCES offer_access (offer_id, publisher_id) ON DELETE CASCADE,
    FOREIGN KEY (offer_id, goal_code) REFERENCES goals (offer_id, code) ON DELETE CASCADE
);

CREATE TABLE tracking_links (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text        NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9_-]{4,64}$'),
    offer_id        bigint      NOT NULL REFERENCES offers(id),
    publisher_id    bigint      NOT NULL REFERENCES publishers(id),
    status          text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tracking_links_publisher_idx ON tracking_links (publisher_id);

CREATE TABLE api_keys (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- SHA-256 of the key; the key is shown once, when it is issued.
    key_hash        bytea       NOT NULL UNIQUE,
    role            text        NOT NULL CHECK (role IN ('admin', 'advertiser', 'publisher')),
    advertiser_id   bigint REFERENCES advertisers(id),
    publisher_id    bigint REFERENCES publishers(id),
    name            text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    CHECK ((role = 'admin' AND advertiser_id IS NULL AND publisher_id IS NULL)
        OR (role = 'advertiser' AND advertiser_id IS NOT NULL AND publisher_id IS NULL)
        OR (role = 'publisher' AND publisher_id IS NOT NULL AND advertiser_id IS NULL))
);

-- Clicks, partitioned by month. The primary key includes created_at (a partitioned table's unique keys
-- must hold the partition key); the click id encodes its own timestamp, so a lookup by id can name the
-- partition. Flushes insert with ON CONFLICT DO NOTHING, so a re-delivered batch changes nothing.
CREATE TABLE clicks (
    click_id        text        NOT NULL,
    created_at      timestamptz NOT NULL,
    offer_id        bigint      NOT NULL,
    publisher_id    bigint      NOT NULL,
    link_id         bigint,
    sub1 text, sub2 text, sub3 text, sub4 text, sub5 text,
    source          text,
    ip              inet,
    user_agent      text,
    referrer        text,
    country         char(2),
    is_unique       boolean     NOT NULL,
    is_bot          boolean     NOT NULL,
    PRIMARY KEY (click_id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE clicks_default PARTITION OF clicks DEFAULT;
CREATE INDEX clicks_offer_time_idx ON clicks (offer_id, created_at);
CREATE INDEX clicks_publisher_time_idx ON clicks (publisher_id, created_at);

-- Creates the monthly partition holding `at` if it does not exist. Called at start for the months
-- around now; the default partition catches anything outside them.
CREATE FUNCTION ensure_click_partition(at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    name text := 'clicks_' || to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
    IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF clicks FOR VALUES FROM (%L) TO (%L)',
                       name, month_start, month_start + interval '1 month');
    END IF;
END $$;
