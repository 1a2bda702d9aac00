-- Portable SQL: TEXT ids, INTEGER money in minor units, INTEGER unix-millisecond times.
-- On PostgreSQL, `seq` becomes BIGINT GENERATED ALWAYS AS IDENTITY.

CREATE TABLE merchants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    kind         TEXT NOT NULL,
    -- SHA-256 of the whole key; the key itself is shown once and never stored.
    key_hash     TEXT NOT NULL UNIQUE,
    key_hint     TEXT NOT NULL,
    permissions  TEXT NOT NULL,
    name         TEXT,
    created_at   INTEGER NOT NULL
);

-- Single-use tokens. The processor holds the card; Kassa keeps its token and the card facts.
CREATE TABLE card_tokens (
    id               TEXT PRIMARY KEY,
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    processor_token  TEXT NOT NULL,
    brand            TEXT NOT NULL,
    last4            TEXT NOT NULL,
    exp_month        INTEGER NOT NULL,
    exp_year         INTEGER NOT NULL,
    fingerprint      TEXT NOT NULL,
    used_at          INTEGER,
    created_at       INTEGER NOT NULL
);

CREATE TABLE payment_intents (
    seq                    INTEGER PRIMARY KEY AUTOINCREMENT,
    id                     TEXT NOT NULL UNIQUE,
    merchant_id            TEXT NOT NULL REFERENCES merchants (id),
    status                 TEXT NOT NULL,
    amount_cents           INTEGER NOT NULL,
    tip_cents              INTEGER NOT NULL,
    captured_amount_cents  INTEGER NOT NULL,
    refunded_amount_cents  INTEGER NOT NULL,
    currency               TEXT NOT NULL,
    capture_method         TEXT NOT NULL,
    payment_method_type    TEXT,
    card_brand             TEXT,
    card_last4             TEXT,
    card_fingerprint       TEXT,
    processor_token        TEXT,
    auth_code              TEXT,
    avs_response           TEXT,
    cvv_response           TEXT,
    provider_reference     TEXT,
    order_id               TEXT,
    customer_id            TEXT,
    location_id            TEXT,
    terminal_id            TEXT,
    line_items             TEXT NOT NULL,
    metadata               TEXT NOT NULL,
    next_action            TEXT,
    last_error             TEXT,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
CREATE INDEX payment_intents_by_merchant ON payment_intents (merchant_id, seq);
CREATE INDEX payment_intents_by_status ON payment_intents (merchant_id, status, seq);

CREATE TABLE transactions (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT NOT NULL UNIQUE,
    merchant_id         TEXT NOT NULL REFERENCES merchants (id),
    intent_id           TEXT NOT NULL REFERENCES payment_intents (id),
    kind                TEXT NOT NULL,
    status              TEXT NOT NULL,
    amount_cents        INTEGER NOT NULL,
    currency            TEXT NOT NULL,
    provider_reference  TEXT,
    response_code       TEXT NOT NULL,
    response_text       TEXT NOT NULL,
    created_at          INTEGER NOT NULL
);
CREATE INDEX transactions_by_intent ON transactions (intent_id, seq);

-- The first response to each idempotency key, written in the same transaction as its effect.
CREATE TABLE idempotency_keys (
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    key           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    status_code   INTEGER NOT NULL,
    body          BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, key)
);
