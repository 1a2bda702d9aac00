-- People who sign in to the merchant console, their sessions, and the failed sign-ins that lock
-- an email out for a while.
CREATE TABLE users (
    merchant_id       TEXT NOT NULL REFERENCES merchants (id),
    id                TEXT NOT NULL,
    email             TEXT NOT NULL,
    role              TEXT NOT NULL,
    -- Argon2id, as a PHC string; NULL until the user chose a password.
    password_hash     TEXT,
    -- SHA-256 of the one-time setup token, until it is used or expires.
    setup_hash        TEXT,
    setup_expires_at  INTEGER,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, id)
);
CREATE UNIQUE INDEX users_by_email ON users (email);
CREATE UNIQUE INDEX users_by_setup ON users (setup_hash) WHERE setup_hash IS NOT NULL;

CREATE TABLE console_sessions (
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    -- SHA-256 of the cookie's token; the token itself is never stored.
    token_hash     TEXT NOT NULL UNIQUE,
    user_id        TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, token_hash),
    FOREIGN KEY (merchant_id, user_id) REFERENCES users (merchant_id, id)
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);

-- Counted by email whether or not a user has it, so that a lockout tells nothing of who exists.
CREATE TABLE sign_in_failures (
    email          TEXT PRIMARY KEY,
    failures       INTEGER NOT NULL,
    last_failed_at INTEGER NOT NULL,
    locked_until   INTEGER
);

-- Who asked for each processor call: a key's id or a user's email.
ALTER TABLE payment_operations ADD COLUMN actor TEXT;
ALTER TABLE transactions ADD COLUMN created_by TEXT;
