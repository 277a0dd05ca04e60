-- HMAC-signed postbacks: an advertiser's signing key is derived from the server's master key and this
-- version (0 = none issued), so nothing secret is stored per advertiser and issuing a new key revokes the old.
ALTER TABLE advertisers ADD COLUMN signing_key_version integer NOT NULL DEFAULT 0;
