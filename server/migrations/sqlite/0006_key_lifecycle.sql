-- Keys can be revoked, and rolled with a grace period during which the old key still works.
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;
CREATE INDEX api_keys_by_merchant ON api_keys (merchant_id, created_at);
