-- An intent's `orderId` names a Kassa order and nothing else; the shop's own reference, which
-- used to share that field, has one of its own. References kept so far move there.
ALTER TABLE payment_intents ADD COLUMN reference TEXT;
UPDATE payment_intents SET reference = order_id, order_id = NULL
 WHERE order_id IS NOT NULL AND order_id NOT LIKE 'ord\_%' ESCAPE '\';
CREATE INDEX payment_intents_by_shop_reference ON payment_intents (merchant_id, reference) WHERE reference IS NOT NULL;
