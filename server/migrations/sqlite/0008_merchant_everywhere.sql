-- Every row names its merchant (the PostgreSQL schema is distributed by it; SQLite keeps the same
-- columns so both backends run the same queries).
ALTER TABLE webhook_attempts ADD COLUMN merchant_id TEXT;
UPDATE webhook_attempts SET merchant_id = (SELECT d.merchant_id FROM webhook_deliveries d WHERE d.id = webhook_attempts.delivery_id);
ALTER TABLE demo_shop_orders ADD COLUMN merchant_id TEXT;
UPDATE demo_shop_orders SET merchant_id = (SELECT value FROM settings WHERE name = 'demo_merchant_id');
ALTER TABLE demo_processed_events ADD COLUMN merchant_id TEXT;
UPDATE demo_processed_events SET merchant_id = (SELECT value FROM settings WHERE name = 'demo_merchant_id');
