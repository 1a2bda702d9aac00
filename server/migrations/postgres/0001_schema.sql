-- Kassa on PostgreSQL 15+: the same tables as on SQLite, in PostgreSQL's own types (BIGINT money
-- in minor units and unix-millisecond times, BOOLEAN flags, BYTEA, identity columns).
--
-- Ready for distribution by merchant (Citus or another PostgreSQL-compatible distributed
-- database): every table but the reference tables carries `merchant_id`, and every primary key,
-- unique index and foreign key between them includes it, so each merchant's rows live together.
-- The reference tables are small and read on every request before the merchant is known:
-- `merchants`, `api_keys` (a key names its merchant) and `settings` (facts about the
-- installation). `sandbox_ledger` is the simulated processor's own books, keyed by its call key.
-- `server/tests/schema.rs` fails when a table breaks this rule.

CREATE TABLE merchants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
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
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_by_merchant ON api_keys (merchant_id, created_at);

CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE TABLE card_tokens (
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    id               TEXT NOT NULL,
    processor_token  TEXT NOT NULL,
    brand            TEXT NOT NULL,
    last4            TEXT NOT NULL,
    exp_month        BIGINT NOT NULL,
    exp_year         BIGINT NOT NULL,
    fingerprint      TEXT NOT NULL,
    used_at          BIGINT,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);

CREATE TABLE customers (
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    id           TEXT NOT NULL,
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    email        TEXT,
    name         TEXT,
    metadata     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX customers_by_merchant ON customers (merchant_id, seq);

CREATE TABLE payment_intents (
    merchant_id            TEXT NOT NULL REFERENCES merchants (id),
    id                     TEXT NOT NULL,
    seq                    BIGINT GENERATED ALWAYS AS IDENTITY,
    status                 TEXT NOT NULL,
    amount_cents           BIGINT NOT NULL,
    tip_cents              BIGINT NOT NULL,
    captured_amount_cents  BIGINT NOT NULL,
    refunded_amount_cents  BIGINT NOT NULL,
    refund_reserved_cents  BIGINT NOT NULL DEFAULT 0,
    currency               TEXT NOT NULL,
    capture_method         TEXT NOT NULL,
    payment_method_type    TEXT,
    card_brand             TEXT,
    card_last4             TEXT,
    card_fingerprint       TEXT,
    card_exp_month         BIGINT,
    card_exp_year          BIGINT,
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
    client_secret_hash     TEXT,
    three_ds_session_hash  TEXT,
    opener_origin          TEXT,
    return_url             TEXT,
    frame_ancestors        TEXT,
    save_card              BOOLEAN NOT NULL DEFAULT FALSE,
    resolution             TEXT,
    pending_operation      TEXT,
    failed_attempts        BIGINT NOT NULL DEFAULT 0,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    -- The books never go wrong, whatever the code above them does: refunds (done and reserved)
    -- never pass what was captured, nothing is negative, a capture never passes amount plus tip,
    -- and a tip is at most the amount.
    CONSTRAINT money_invariant CHECK (
        amount_cents > 0 AND tip_cents >= 0 AND tip_cents <= amount_cents
        AND captured_amount_cents >= 0 AND refunded_amount_cents >= 0 AND refund_reserved_cents >= 0
        AND refunded_amount_cents + refund_reserved_cents <= captured_amount_cents
        AND captured_amount_cents <= amount_cents + tip_cents
    )
);
CREATE INDEX payment_intents_by_merchant ON payment_intents (merchant_id, seq);
CREATE INDEX payment_intents_by_status ON payment_intents (merchant_id, status, seq);

-- A refund is never taken back.
CREATE FUNCTION payment_intents_refunds_only_grow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.refunded_amount_cents < OLD.refunded_amount_cents THEN
        RAISE EXCEPTION 'money invariant: payment_intents';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER payment_intents_refunds_only_grow BEFORE UPDATE ON payment_intents
    FOR EACH ROW EXECUTE FUNCTION payment_intents_refunds_only_grow();

CREATE TABLE transactions (
    merchant_id         TEXT NOT NULL REFERENCES merchants (id),
    id                  TEXT NOT NULL,
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY,
    intent_id           TEXT NOT NULL,
    kind                TEXT NOT NULL,
    status              TEXT NOT NULL,
    amount_cents        BIGINT NOT NULL,
    currency            TEXT NOT NULL,
    provider_reference  TEXT,
    response_code       TEXT NOT NULL,
    response_text       TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, intent_id) REFERENCES payment_intents (merchant_id, id)
);
CREATE INDEX transactions_by_intent ON transactions (merchant_id, intent_id, seq);

CREATE TABLE payment_operations (
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    id               TEXT NOT NULL,
    seq              BIGINT GENERATED ALWAYS AS IDENTITY,
    intent_id        TEXT NOT NULL,
    kind             TEXT NOT NULL,
    amount_cents     BIGINT NOT NULL,
    state            TEXT NOT NULL,
    plan             TEXT NOT NULL,
    api_key_id       TEXT,
    idempotency_key  TEXT,
    created_at       BIGINT NOT NULL,
    settled_at       BIGINT,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, intent_id) REFERENCES payment_intents (merchant_id, id)
);
CREATE INDEX payment_operations_pending ON payment_operations (state, created_at);
CREATE INDEX payment_operations_by_request ON payment_operations (merchant_id, api_key_id, idempotency_key);

CREATE TABLE idempotency_keys (
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    api_key_id    TEXT NOT NULL,
    key           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    state         TEXT NOT NULL,
    status_code   BIGINT,
    body          BYTEA,
    locked_at     BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, api_key_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE TABLE payment_methods (
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    id               TEXT NOT NULL,
    seq              BIGINT GENERATED ALWAYS AS IDENTITY,
    customer_id      TEXT NOT NULL,
    processor_token  TEXT NOT NULL,
    brand            TEXT NOT NULL,
    last4            TEXT NOT NULL,
    exp_month        BIGINT NOT NULL,
    exp_year         BIGINT NOT NULL,
    fingerprint      TEXT NOT NULL,
    nickname         TEXT,
    is_default       BOOLEAN NOT NULL,
    created_at       BIGINT NOT NULL,
    detached_at      BIGINT,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, customer_id) REFERENCES customers (merchant_id, id)
);
CREATE INDEX payment_methods_by_customer ON payment_methods (merchant_id, customer_id, seq);

CREATE TABLE customer_sessions (
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    secret_hash  TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, secret_hash),
    FOREIGN KEY (merchant_id, customer_id) REFERENCES customers (merchant_id, id)
);

CREATE TABLE orders (
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    id              TEXT NOT NULL,
    seq             BIGINT GENERATED ALWAYS AS IDENTITY,
    status          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    customer_id     TEXT,
    line_items      TEXT NOT NULL,
    subtotal_cents  BIGINT NOT NULL,
    total_cents     BIGINT NOT NULL,
    metadata        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX orders_by_merchant ON orders (merchant_id, seq);

CREATE TABLE order_payments (
    merchant_id        TEXT NOT NULL REFERENCES merchants (id),
    id                 TEXT NOT NULL,
    seq                BIGINT GENERATED ALWAYS AS IDENTITY,
    order_id           TEXT NOT NULL,
    kind               TEXT NOT NULL,
    method_id          TEXT NOT NULL,
    amount_cents       BIGINT NOT NULL,
    status             TEXT NOT NULL,
    transaction_ref    TEXT,
    source_payment_id  TEXT,
    invoice_id         TEXT,
    note               TEXT,
    attrs              TEXT NOT NULL,
    corrections        TEXT NOT NULL,
    completed_at       BIGINT,
    reversed_at        BIGINT,
    created_at         BIGINT NOT NULL,
    created_via        TEXT NOT NULL,
    created_by         TEXT,
    updated_at         BIGINT NOT NULL,
    updated_via        TEXT NOT NULL,
    updated_by         TEXT,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, order_id) REFERENCES orders (merchant_id, id)
);
CREATE INDEX order_payments_by_order ON order_payments (merchant_id, order_id, seq);
CREATE INDEX order_payments_by_source ON order_payments (merchant_id, source_payment_id);

CREATE TABLE webhook_endpoints (
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    id           TEXT NOT NULL,
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    url          TEXT NOT NULL,
    events       TEXT NOT NULL,
    enabled      BOOLEAN NOT NULL,
    -- Sealed with the server's encryption key.
    secret       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    deleted_at   BIGINT,
    PRIMARY KEY (merchant_id, id)
);

CREATE TABLE events (
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    id           TEXT NOT NULL,
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    kind         TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX events_by_merchant ON events (merchant_id, seq);

CREATE TABLE webhook_deliveries (
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    id               TEXT NOT NULL,
    seq              BIGINT GENERATED ALWAYS AS IDENTITY,
    endpoint_id      TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, endpoint_id) REFERENCES webhook_endpoints (merchant_id, id),
    FOREIGN KEY (merchant_id, event_id) REFERENCES events (merchant_id, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE TABLE webhook_attempts (
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    seq            BIGINT GENERATED ALWAYS AS IDENTITY,
    delivery_id    TEXT NOT NULL,
    endpoint_id    TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    status_code    BIGINT,
    error          TEXT,
    duration_ms    BIGINT NOT NULL,
    attempted_at   BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, seq),
    FOREIGN KEY (merchant_id, delivery_id) REFERENCES webhook_deliveries (merchant_id, id)
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (merchant_id, endpoint_id, seq);

-- Rate-limit buckets shared by every server: the time each would be full again (µs). Losing it
-- in a crash only forgets a few seconds of counting, so it skips the WAL.
CREATE UNLOGGED TABLE rate_limits (
    merchant_id  TEXT NOT NULL,
    bucket       TEXT NOT NULL,
    full_at      BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, bucket)
);

-- The sandbox processor's books when several servers share it: one reply per call key. It stands
-- for an outside processor's records, not Kassa's: it survives any Kassa server's crash, and skips
-- the WAL (a crash of PostgreSQL itself empties it, as a sandbox may).
CREATE UNLOGGED TABLE sandbox_ledger (
    key           TEXT PRIMARY KEY,
    -- authorize, sale, authenticate, capture, void, refund, tip
    kind          TEXT NOT NULL,
    amount_cents  BIGINT,
    approved      BOOLEAN NOT NULL,
    reply         TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- The demo shop's own orders, marked paid by its webhook receiver.
CREATE TABLE demo_shop_orders (
    merchant_id  TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    status       TEXT NOT NULL,
    paid_at      BIGINT,
    PRIMARY KEY (merchant_id, order_id)
);
CREATE TABLE demo_processed_events (
    merchant_id  TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, event_id)
);
