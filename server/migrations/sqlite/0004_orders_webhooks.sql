-- Orders and their payments ledger; events, webhook endpoints and the delivery outbox.

CREATE TABLE orders (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    status          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    customer_id     TEXT,
    line_items      TEXT NOT NULL,
    subtotal_cents  INTEGER NOT NULL,
    total_cents     INTEGER NOT NULL,
    metadata        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX orders_by_merchant ON orders (merchant_id, seq);

-- One row per payment on an order: card payments (created_via 'card', one receipt per intent and a
-- refund row per refund) and manual ones. A completed row is never deleted, only reversed.
CREATE TABLE order_payments (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    id                 TEXT NOT NULL UNIQUE,
    merchant_id        TEXT NOT NULL REFERENCES merchants (id),
    order_id           TEXT NOT NULL REFERENCES orders (id),
    kind               TEXT NOT NULL,
    method_id          TEXT NOT NULL,
    amount_cents       INTEGER NOT NULL,
    status             TEXT NOT NULL,
    transaction_ref    TEXT,
    source_payment_id  TEXT,
    invoice_id         TEXT,
    note               TEXT,
    attrs              TEXT NOT NULL,
    corrections        TEXT NOT NULL,
    completed_at       INTEGER,
    reversed_at        INTEGER,
    created_at         INTEGER NOT NULL,
    created_via        TEXT NOT NULL,
    -- The API key (its id, never the key) that made or last changed the payment; none when Kassa did.
    created_by         TEXT,
    updated_at         INTEGER NOT NULL,
    updated_via        TEXT NOT NULL,
    updated_by         TEXT
);
CREATE INDEX order_payments_by_order ON order_payments (order_id, seq);
CREATE INDEX order_payments_by_source ON order_payments (source_payment_id);

CREATE TABLE webhook_endpoints (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    url          TEXT NOT NULL,
    events       TEXT NOT NULL,
    enabled      INTEGER NOT NULL,
    -- The HMAC key deliveries are signed with; it must be kept to sign, so it cannot be hashed.
    secret       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    deleted_at   INTEGER
);

CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    kind         TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX events_by_merchant ON events (merchant_id, seq);

-- The outbox: one row per event and endpoint, written with the change that caused the event.
CREATE TABLE webhook_deliveries (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_id         TEXT NOT NULL REFERENCES events (id),
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE TABLE webhook_attempts (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id    TEXT NOT NULL REFERENCES webhook_deliveries (id),
    endpoint_id    TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    status_code    INTEGER,
    error          TEXT,
    duration_ms    INTEGER NOT NULL,
    attempted_at   INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, seq);

-- The demo shop's own orders, marked paid by its webhook receiver.
CREATE TABLE demo_shop_orders (
    order_id   TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    paid_at    INTEGER
);
CREATE TABLE demo_processed_events (
    event_id   TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
);
