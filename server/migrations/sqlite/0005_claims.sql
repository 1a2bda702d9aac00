-- Money moves once: every step that moves money claims its right first (an operation row and a
-- conditional change of the intent), calls the processor with a key derived from the claim, and
-- records the outcome. A reconciler settles operations a crash left pending.

ALTER TABLE payment_intents ADD COLUMN pending_operation TEXT;
ALTER TABLE payment_intents ADD COLUMN refund_reserved_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payment_intents ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE payment_operations (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    intent_id        TEXT NOT NULL REFERENCES payment_intents (id),
    kind             TEXT NOT NULL,
    amount_cents     INTEGER NOT NULL,
    -- pending until its outcome is recorded, then settled.
    state            TEXT NOT NULL,
    -- What the outcome needs to be applied (JSON), written with the claim.
    plan             TEXT NOT NULL,
    -- The request the operation answers (API key id and idempotency key), so a reconciled outcome
    -- is what a retry of that request replays.
    api_key_id       TEXT,
    idempotency_key  TEXT,
    created_at       INTEGER NOT NULL,
    settled_at       INTEGER
);
CREATE INDEX payment_operations_pending ON payment_operations (state, created_at);

-- Idempotency per API key: a reply is replayed only to the key that made the request. A row is
-- `running` from the claim of a money-moving request until its outcome, then `done`. Bodies are
-- sealed with the server's encryption key, so no reply's secret is kept in clear.
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    api_key_id    TEXT NOT NULL,
    key           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    state         TEXT NOT NULL,
    status_code   INTEGER,
    body          BLOB,
    locked_at     INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, api_key_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- The books never go wrong, whatever the code above them does: refunds (done and reserved) never
-- pass what was captured, nothing is negative, a capture never passes amount plus tip, and a tip
-- is at most the amount.
CREATE TRIGGER payment_intents_money_on_insert BEFORE INSERT ON payment_intents
WHEN NEW.amount_cents <= 0 OR NEW.tip_cents < 0 OR NEW.tip_cents > NEW.amount_cents
  OR NEW.captured_amount_cents < 0 OR NEW.refunded_amount_cents < 0 OR NEW.refund_reserved_cents < 0
  OR NEW.refunded_amount_cents + NEW.refund_reserved_cents > NEW.captured_amount_cents
  OR NEW.captured_amount_cents > NEW.amount_cents + NEW.tip_cents
BEGIN
    SELECT RAISE(ABORT, 'money invariant: payment_intents');
END;

CREATE TRIGGER payment_intents_money_on_update BEFORE UPDATE ON payment_intents
WHEN NEW.amount_cents <= 0 OR NEW.tip_cents < 0 OR NEW.tip_cents > NEW.amount_cents
  OR NEW.captured_amount_cents < 0 OR NEW.refunded_amount_cents < 0 OR NEW.refund_reserved_cents < 0
  OR NEW.refunded_amount_cents + NEW.refund_reserved_cents > NEW.captured_amount_cents
  OR NEW.captured_amount_cents > NEW.amount_cents + NEW.tip_cents
  OR NEW.refunded_amount_cents < OLD.refunded_amount_cents
BEGIN
    SELECT RAISE(ABORT, 'money invariant: payment_intents');
END;
