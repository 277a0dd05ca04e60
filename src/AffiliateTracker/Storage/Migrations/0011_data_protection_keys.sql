-- The key ring that protects console sessions and form tokens, shared by every instance: a session signed in on
-- one instance is honoured by the others, and survives restarts and rolling deploys.
CREATE TABLE data_protection_keys (
    id bigserial PRIMARY KEY,
    friendly_name text,
    xml text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
