-- Client-side confirmation, 3-D Secure, saved cards and the handling of failed payments.

ALTER TABLE payment_intents ADD COLUMN client_secret_hash TEXT;
ALTER TABLE payment_intents ADD COLUMN three_ds_session_hash TEXT;
ALTER TABLE payment_intents ADD COLUMN opener_origin TEXT;
ALTER TABLE payment_intents ADD COLUMN return_url TEXT;
ALTER TABLE payment_intents ADD COLUMN save_card INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payment_intents ADD COLUMN resolution TEXT;
ALTER TABLE payment_intents ADD COLUMN card_exp_month INTEGER;
ALTER TABLE payment_intents ADD COLUMN card_exp_year INTEGER;

CREATE TABLE customers (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    email        TEXT,
    name         TEXT,
    metadata     TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX customers_by_merchant ON customers (merchant_id, seq);

-- Saved cards: like a token, the processor's handle and the card facts, never the number.
CREATE TABLE payment_methods (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    customer_id      TEXT NOT NULL REFERENCES customers (id),
    processor_token  TEXT NOT NULL,
    brand            TEXT NOT NULL,
    last4            TEXT NOT NULL,
    exp_month        INTEGER NOT NULL,
    exp_year         INTEGER NOT NULL,
    fingerprint      TEXT NOT NULL,
    nickname         TEXT,
    is_default       INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    detached_at      INTEGER
);
CREATE INDEX payment_methods_by_customer ON payment_methods (customer_id, seq);

-- Short-lived secrets that let a browser manage one customer's saved cards.
CREATE TABLE customer_sessions (
    secret_hash  TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    expires_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
