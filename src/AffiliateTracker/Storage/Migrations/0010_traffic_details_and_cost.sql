-- Traffic details worked out by the click flusher (device type, OS and its major version, browser, network and
-- whether it hosts servers), their rollups for reports, and what traffic cost: per click (cost= on the link, in
-- the offer's currency) and uploaded per day and source.

ALTER TABLE clicks
    ADD COLUMN device_type   text,
    ADD COLUMN os            text,
    ADD COLUMN os_version    text,
    ADD COLUMN browser       text,
    ADD COLUMN asn           integer,
    ADD COLUMN is_datacenter boolean,
    ADD COLUMN cost          numeric(18,6);

-- A conversion's are its click's, copied by the conversion flusher, so reports by them need no join.
ALTER TABLE conversions
    ADD COLUMN device_type   text,
    ADD COLUMN os            text,
    ADD COLUMN os_version    text,
    ADD COLUMN browser       text,
    ADD COLUMN asn           integer,
    ADD COLUMN is_datacenter boolean;

-- Unknown is '' (text) and 0 (asn) here, so every click has a key.
CREATE TABLE click_rollup_device (
    day             date        NOT NULL,
    offer_id        bigint      NOT NULL,
    publisher_id    bigint      NOT NULL,
    device_type     text        NOT NULL,
    os              text        NOT NULL,
    os_version      text        NOT NULL,
    browser         text        NOT NULL,
    clicks          bigint      NOT NULL,
    unique_clicks   bigint      NOT NULL,
    PRIMARY KEY (day, offer_id, publisher_id, device_type, os, os_version, browser)
);

CREATE TABLE click_rollup_network (
    day             date        NOT NULL,
    offer_id        bigint      NOT NULL,
    publisher_id    bigint      NOT NULL,
    asn             integer     NOT NULL,
    is_datacenter   boolean     NOT NULL,
    clicks          bigint      NOT NULL,
    unique_clicks   bigint      NOT NULL,
    PRIMARY KEY (day, offer_id, publisher_id, asn, is_datacenter)
);

-- What the clicks of each rollup row cost (cost= on the link), in the offer's currency.
ALTER TABLE click_rollup_hour ADD COLUMN cost numeric(20,6) NOT NULL DEFAULT 0;
ALTER TABLE click_rollup_subs ADD COLUMN cost numeric(20,6) NOT NULL DEFAULT 0;

-- Cost of traffic bought elsewhere, uploaded per day, publisher and offer, optionally for one source (the sub1 value
-- the publisher's ads put on the link; '' = all of that day's traffic), converted to the offer's currency. One row
-- per key: an upload replaces what was there.
CREATE TABLE traffic_costs (
    day             date        NOT NULL,
    publisher_id    bigint      NOT NULL REFERENCES publishers(id),
    offer_id        bigint      NOT NULL REFERENCES offers(id),
    sub1            text        NOT NULL DEFAULT '',
    amount          numeric(18,4) NOT NULL CHECK (amount >= 0),
    currency        char(3)     NOT NULL,
    uploaded_by     text        NOT NULL,
    uploaded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, publisher_id, offer_id, sub1)
);
