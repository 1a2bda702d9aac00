-- The operation (`payment_operations.id`) whose call a transaction records, so that one refund
-- or capture can be followed from its claim to its outcome (the Stripe face's Refund objects are
-- operations). Older rows, and rows a processor's event wrote, have none.
ALTER TABLE transactions ADD COLUMN operation_id TEXT;
CREATE INDEX transactions_by_operation ON transactions (merchant_id, operation_id);

-- What paid for a payment, by id: its single-use token or its saved card (the Stripe face's
-- `payment_method`). Older rows, and cards typed into the request, have none.
ALTER TABLE payment_intents ADD COLUMN payment_method_id TEXT;

-- A deleted customer is found no more (its payments keep its id), as Stripe's are.
ALTER TABLE customers ADD COLUMN deleted_at INTEGER;

-- Saving a customer's card without a payment (a Stripe SetupIntent): made for a customer, then
-- confirmed with the card it saves.
CREATE TABLE setup_intents (
    merchant_id        TEXT NOT NULL REFERENCES merchants (id),
    id                 TEXT NOT NULL,
    customer_id        TEXT NOT NULL,
    status             TEXT NOT NULL,
    payment_method_id  TEXT,
    usage              TEXT NOT NULL,
    metadata           TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, id)
);

-- How an endpoint takes its deliveries: Kassa's events, or Stripe's (`Stripe-Signature`).
ALTER TABLE webhook_endpoints ADD COLUMN format TEXT NOT NULL DEFAULT 'kassa';
