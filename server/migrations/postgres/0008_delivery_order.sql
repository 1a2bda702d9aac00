-- An endpoint's deliveries are sent in the order they were made: the worker looks for an older
-- pending delivery of the same endpoint before it sends one.
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (merchant_id, endpoint_id, status, seq);
