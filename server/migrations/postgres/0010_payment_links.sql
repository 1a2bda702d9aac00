-- The operation (`payment_operations.id`) whose call a transaction records, so that one refund
-- or capture can be followed from its claim to its outcome (the Stripe face's Refund objects are
-- operations). Older rows, and rows a processor's event wrote, have none.
ALTER TABLE transactions ADD COLUMN operation_id TEXT;
CREATE INDEX transactions_by_operation ON transactions (merchant_id, operation_id);

-- What paid for a payment, by id: its single-use token or its saved card (the Stripe face's
-- `payment_method`). Older rows, and cards typed into the request, have none.
ALTER TABLE payment_intents ADD COLUMN payment_method_id TEXT;
