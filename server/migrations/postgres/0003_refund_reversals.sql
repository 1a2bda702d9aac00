-- A refund the processor accepted and that failed afterwards is taken back on the books: the
-- refunded amount goes down by exactly what is recorded as reversed, and in no other way.
-- refund_reversed_cents only grows.
ALTER TABLE payment_intents ADD COLUMN refund_reversed_cents BIGINT NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION payment_intents_refunds_only_grow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.refund_reversed_cents < OLD.refund_reversed_cents
       OR NEW.refunded_amount_cents < OLD.refunded_amount_cents - (NEW.refund_reversed_cents - OLD.refund_reversed_cents) THEN
        RAISE EXCEPTION 'money invariant: payment_intents';
    END IF;
    RETURN NEW;
END;
$$;
