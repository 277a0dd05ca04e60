-- Links that sell: deep links to the advertiser's own pages, smart links that pick an offer per click,
-- creatives publishers copy, and product feeds publishers download with their deep links.

-- Hosts a deep link may go to: 'shop.example' (exactly that host) or '*.shop.example' (it and its
-- subdomains). How the click id reaches the page: query parameters appended to the deep URL
-- ('clickid={click_id}&utm_source=aff{aff_id}'), or an advertiser's redirector URL with {url} in it.
ALTER TABLE offers
    ADD COLUMN deep_link_domains  text[] NOT NULL DEFAULT '{}',
    ADD COLUMN deep_link_template text;

-- The deep URL the visitor went to, or that a deep link was asked for and refused (the visitor went to
-- the landing page); the smart link and its rule (1-based) that chose the offer.
ALTER TABLE clicks
    ADD COLUMN deep_link          text,
    ADD COLUMN deep_link_refused  boolean NOT NULL DEFAULT false,
    ADD COLUMN smart_link_id      bigint,
    ADD COLUMN smart_rule         smallint;

CREATE TABLE smart_links (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text        NOT NULL UNIQUE,
    publisher_id    bigint      NOT NULL REFERENCES publishers(id),
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status          text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    -- Ordered rules, checked on save (SmartLinks/SmartLinkRules): [{countries, device_types, os, offers: [{offer_id, weight}]}].
    rules           jsonb       NOT NULL,
    -- Where a visitor goes when no rule has an offer that takes them.
    fallback_url    text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX smart_links_publisher_idx ON smart_links (publisher_id);

-- Clicks chosen by a smart link, per day, offer, publisher, smart link and rule: the report's smart-link
-- dimensions (clicks of plain links are not in it).
CREATE TABLE click_rollup_smart (
    day             date        NOT NULL,
    offer_id        bigint      NOT NULL,
    publisher_id    bigint      NOT NULL,
    smart_link_id   bigint      NOT NULL,
    smart_rule      smallint    NOT NULL,
    clicks          bigint      NOT NULL,
    unique_clicks   bigint      NOT NULL,
    PRIMARY KEY (day, offer_id, publisher_id, smart_link_id, smart_rule)
);

-- Banners and text or HTML snippets for an offer. Images live here, in PostgreSQL, so every instance
-- serves the same bytes without a shared disk or an object store to run; they are small (size-limited)
-- and cached by browsers and CDNs by their content hash, so the database serves each one rarely.
CREATE TABLE creatives (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    offer_id        bigint      NOT NULL REFERENCES offers(id),
    kind            text        NOT NULL CHECK (kind IN ('image', 'text', 'html')),
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status          text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    content_type    text,
    width           int,
    height          int,
    image           bytea,
    sha256          text,
    body            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'image') = (image IS NOT NULL AND content_type IS NOT NULL AND sha256 IS NOT NULL)),
    CHECK ((kind = 'image') = (body IS NULL))
);
CREATE INDEX creatives_offer_idx ON creatives (offer_id);

-- An advertiser's product catalogue for an offer: uploaded, or fetched from source_url every few hours.
CREATE TABLE product_feeds (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    offer_id        bigint      NOT NULL REFERENCES offers(id),
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    source_url      text,
    fetch_every_hours int       CHECK (fetch_every_hours BETWEEN 1 AND 168),
    status          text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    products        int         NOT NULL DEFAULT 0,
    skipped         int         NOT NULL DEFAULT 0,
    -- The last import: when, its format, and the first problems found (line and reason).
    imported_at     timestamptz,
    format          text,
    problems        jsonb       NOT NULL DEFAULT '[]',
    last_error      text,
    -- The last time the fetcher tried source_url (successful or not): a failing URL is retried hourly, not every minute.
    fetch_attempted_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((source_url IS NULL) = (fetch_every_hours IS NULL))
);
CREATE INDEX product_feeds_offer_idx ON product_feeds (offer_id);

CREATE TABLE products (
    feed_id         bigint      NOT NULL REFERENCES product_feeds(id) ON DELETE CASCADE,
    position        int         NOT NULL,
    product_id      text        NOT NULL,
    name            text        NOT NULL,
    price           numeric(18,4) NOT NULL CHECK (price >= 0),
    currency        char(3)     NOT NULL,
    url             text        NOT NULL,
    image_url       text,
    category        text,
    available       boolean     NOT NULL,
    PRIMARY KEY (feed_id, position)
);
