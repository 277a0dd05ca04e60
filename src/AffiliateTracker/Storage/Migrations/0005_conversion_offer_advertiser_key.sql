-- A conversion's advertiser must be its offer's advertiser: one composite foreign key says so, where two
-- separate keys (to offers and to advertisers) let a conversion name any advertiser. It is also one
-- foreign-key check fewer per conversion written (benchmarks/README.md). An offer's advertiser cannot change
-- (OfferApi), and offers.advertiser_id still references advertisers.
ALTER TABLE offers ADD CONSTRAINT offers_id_advertiser_key UNIQUE (id, advertiser_id);
ALTER TABLE conversions ADD CONSTRAINT conversions_offer_advertiser_fkey
    FOREIGN KEY (offer_id, advertiser_id) REFERENCES offers (id, advertiser_id);
ALTER TABLE conversions DROP CONSTRAINT conversions_offer_id_fkey, DROP CONSTRAINT conversions_advertiser_id_fkey;
