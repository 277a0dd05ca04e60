-- Conversions and their first history rows arrive by COPY, hundreds at a time. A foreign key checks each row with
-- a query of its own: three per conversion, a fifth of PostgreSQL's CPU per postback (benchmarks/README.md). The
-- same rules are now checked once per statement, over all its rows, and refused with the same SQLSTATE (23503).

ALTER TABLE conversions DROP CONSTRAINT conversions_offer_advertiser_fkey, DROP CONSTRAINT conversions_publisher_id_fkey;
ALTER TABLE conversion_status_history DROP CONSTRAINT conversion_status_history_conversion_id_fkey;

-- A conversion's offer (with that offer's advertiser) and publisher exist. They are locked FOR KEY SHARE, as a
-- foreign key locks them, once per distinct row: a delete of one waits for this transaction and then finds the
-- conversion (the triggers on offers and publishers below), or this check waits for the delete and finds the row gone.
CREATE FUNCTION check_conversion_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    PERFORM 1 FROM offers o WHERE (o.id, o.advertiser_id) IN (SELECT offer_id, advertiser_id FROM new_rows) FOR KEY SHARE OF o;
    PERFORM 1 FROM publishers p WHERE p.id IN (SELECT publisher_id FROM new_rows) FOR KEY SHARE OF p;
    SELECT n.offer_id, n.advertiser_id INTO bad FROM new_rows n
    WHERE NOT EXISTS (SELECT 1 FROM offers o WHERE o.id = n.offer_id AND o.advertiser_id = n.advertiser_id) LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING TABLE = 'conversions',
            MESSAGE = format('conversion refers to offer %s of advertiser %s, which does not exist', bad.offer_id, bad.advertiser_id);
    END IF;
    SELECT n.publisher_id INTO bad FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM publishers p WHERE p.id = n.publisher_id) LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING TABLE = 'conversions',
            MESSAGE = format('conversion refers to publisher %s, which does not exist', bad.publisher_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversions_references AFTER INSERT ON conversions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION check_conversion_references();

-- No lock needed here: a conversion is never deleted and never changes its id (below).
CREATE FUNCTION check_history_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.conversion_id INTO bad FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM conversions c WHERE c.id = n.conversion_id) LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING TABLE = 'conversion_status_history',
            MESSAGE = format('status history refers to conversion %s, which does not exist', bad.conversion_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversion_status_history_references AFTER INSERT ON conversion_status_history
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION check_history_references();

-- The other half of the foreign keys: what a row refers to cannot change under it. A conversion is a ledger entry,
-- never deleted, and its id, offer, advertiser and publisher are fixed; so is a history row's conversion. (Column
-- lists: status changes and payout claims do not fire these.)
CREATE FUNCTION refuse_change_of_conversion_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (NEW.id, NEW.offer_id, NEW.advertiser_id, NEW.publisher_id)
                           IS DISTINCT FROM (OLD.id, OLD.offer_id, OLD.advertiser_id, OLD.publisher_id) THEN
        RAISE foreign_key_violation USING TABLE = 'conversions',
            MESSAGE = 'a conversion is never deleted, and its id, offer, advertiser and publisher never change';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversions_keys_fixed AFTER DELETE OR UPDATE OF id, offer_id, advertiser_id, publisher_id ON conversions
    FOR EACH ROW EXECUTE FUNCTION refuse_change_of_conversion_keys();

CREATE FUNCTION refuse_change_of_history_conversion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.conversion_id IS DISTINCT FROM OLD.conversion_id THEN
        RAISE foreign_key_violation USING TABLE = 'conversion_status_history',
            MESSAGE = 'a status history row never moves to another conversion';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversion_status_history_conversion_fixed AFTER UPDATE OF conversion_id ON conversion_status_history
    FOR EACH ROW EXECUTE FUNCTION refuse_change_of_history_conversion();

-- An offer or publisher that conversions refer to is not deleted, nor its key changed (an offer's advertiser
-- included). Checked after the row is gone, as a foreign key does, so a conversion committed meanwhile is seen.
CREATE FUNCTION refuse_change_of_offer_with_conversions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR (NEW.id, NEW.advertiser_id) IS DISTINCT FROM (OLD.id, OLD.advertiser_id))
       AND EXISTS (SELECT 1 FROM conversions WHERE offer_id = OLD.id) THEN
        RAISE foreign_key_violation USING TABLE = 'conversions', MESSAGE = format('offer %s has conversions', OLD.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER offers_referenced_by_conversions AFTER DELETE OR UPDATE OF id, advertiser_id ON offers
    FOR EACH ROW EXECUTE FUNCTION refuse_change_of_offer_with_conversions();

CREATE FUNCTION refuse_change_of_publisher_with_conversions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id) AND EXISTS (SELECT 1 FROM conversions WHERE publisher_id = OLD.id) THEN
        RAISE foreign_key_violation USING TABLE = 'conversions', MESSAGE = format('publisher %s has conversions', OLD.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER publishers_referenced_by_conversions AFTER DELETE OR UPDATE OF id ON publishers
    FOR EACH ROW EXECUTE FUNCTION refuse_change_of_publisher_with_conversions();
