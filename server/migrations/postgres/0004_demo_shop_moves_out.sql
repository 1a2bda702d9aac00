-- The demo shop is its own app now (www/shop), with its own database; Kassa keeps nothing of it.
DROP TABLE demo_shop_orders;
DROP TABLE demo_processed_events;
DELETE FROM settings WHERE name IN ('demo_merchant_id', 'demo_webhook_endpoint');
