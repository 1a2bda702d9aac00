-- A refund the processor accepted and that failed afterwards is taken back on the books: the
-- refunded amount goes down by exactly what is recorded as reversed, and in no other way.
-- refund_reversed_cents only grows.
ALTER TABLE payment_intents ADD COLUMN refund_reversed_cents INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER payment_intents_money_on_update;
CREATE TRIGGER payment_intents_money_on_update BEFORE UPDATE ON payment_intents
WHEN NEW.amount_cents <= 0 OR NEW.tip_cents < 0 OR NEW.tip_cents > NEW.amount_cents
  OR NEW.captured_amount_cents < 0 OR NEW.refunded_amount_cents < 0 OR NEW.refund_reserved_cents < 0
  OR NEW.refunded_amount_cents + NEW.refund_reserved_cents > NEW.captured_amount_cents
  OR NEW.captured_amount_cents > NEW.amount_cents + NEW.tip_cents
  OR NEW.refund_reversed_cents < OLD.refund_reversed_cents
  OR NEW.refunded_amount_cents < OLD.refunded_amount_cents - (NEW.refund_reversed_cents - OLD.refund_reversed_cents)
BEGIN
    SELECT RAISE(ABORT, 'money invariant: payment_intents');
END;
