-- People who sign in to the web console, invitations to become one, publishers who sign up themselves
-- (pending until an admin approves them), offers publishers may see and ask to run, and their requests.

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text        NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    -- ASP.NET Core's PasswordHasher format (PBKDF2, salted, versioned).
    password_hash   text        NOT NULL,
    role            text        NOT NULL CHECK (role IN ('admin', 'advertiser', 'publisher')),
    advertiser_id   bigint REFERENCES advertisers(id),
    publisher_id    bigint REFERENCES publishers(id),
    language        text        NOT NULL DEFAULT 'en',
    status          text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    -- TOTP: the shared secret (base32), whether sign-in asks for it, and the last time step used (no replays).
    totp_secret     text,
    totp_enabled    boolean     NOT NULL DEFAULT false,
    totp_last_step  bigint,
    -- Changes whenever the password, 2FA or status changes: every session carrying an older stamp ends.
    security_stamp  uuid        NOT NULL DEFAULT gen_random_uuid(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz,
    CHECK ((role = 'admin' AND advertiser_id IS NULL AND publisher_id IS NULL)
        OR (role = 'advertiser' AND advertiser_id IS NOT NULL AND publisher_id IS NULL)
        OR (role = 'publisher' AND publisher_id IS NOT NULL AND advertiser_id IS NULL))
);
CREATE INDEX users_publisher_idx ON users (publisher_id) WHERE publisher_id IS NOT NULL;
CREATE INDEX users_advertiser_idx ON users (advertiser_id) WHERE advertiser_id IS NOT NULL;

-- One-time links an admin hands to a new user (no mail server is assumed): the token is shown once and
-- stored as SHA-256.
CREATE TABLE invitations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash      bytea       NOT NULL UNIQUE,
    email           text        NOT NULL CHECK (email = lower(email)),
    role            text        NOT NULL CHECK (role IN ('admin', 'advertiser', 'publisher')),
    advertiser_id   bigint REFERENCES advertisers(id),
    publisher_id    bigint REFERENCES publishers(id),
    created_by      text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    revoked_at      timestamptz,
    CHECK ((role = 'admin' AND advertiser_id IS NULL AND publisher_id IS NULL)
        OR (role = 'advertiser' AND advertiser_id IS NOT NULL AND publisher_id IS NULL)
        OR (role = 'publisher' AND publisher_id IS NOT NULL AND advertiser_id IS NULL))
);

-- A publisher who signed up is pending until an admin approves them; pending publishers get no clicks.
ALTER TABLE publishers DROP CONSTRAINT publishers_status_check;
ALTER TABLE publishers ADD CONSTRAINT publishers_status_check CHECK (status IN ('pending', 'active', 'suspended'));
ALTER TABLE publishers ADD COLUMN website text;
ALTER TABLE publishers ADD COLUMN traffic_sources text;

-- Public offers are listed to every publisher, who may ask to run them; private ones only to those granted.
ALTER TABLE offers ADD COLUMN visibility text NOT NULL DEFAULT 'private' CHECK (visibility IN ('public', 'private'));
ALTER TABLE offers ADD COLUMN description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000);

CREATE TABLE access_requests (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    offer_id        bigint      NOT NULL REFERENCES offers(id) ON DELETE CASCADE,
    publisher_id    bigint      NOT NULL REFERENCES publishers(id),
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
    message         text        NOT NULL DEFAULT '' CHECK (length(message) <= 1000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    decided_by      text,
    reason          text
);
-- At most one open request per offer and publisher.
CREATE UNIQUE INDEX access_requests_open_idx ON access_requests (offer_id, publisher_id) WHERE status = 'pending';
CREATE INDEX access_requests_publisher_idx ON access_requests (publisher_id, created_at DESC);

-- Keys a user issued for themselves from the console.
ALTER TABLE api_keys ADD COLUMN user_id bigint REFERENCES users(id);

-- Failed console sign-ins, counted per account and per address to throttle password guessing.
CREATE TABLE sign_in_failures (
    at              timestamptz NOT NULL,
    email           text        NOT NULL,
    ip              inet
);
CREATE INDEX sign_in_failures_email_idx ON sign_in_failures (email, at);
CREATE INDEX sign_in_failures_ip_idx ON sign_in_failures (ip, at);

-- An advertiser sends an uploaded reconciliation to the network, which applies it.
ALTER TABLE reconciliations ADD COLUMN submitted_at timestamptz;
