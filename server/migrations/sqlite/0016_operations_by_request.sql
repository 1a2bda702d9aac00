-- A retry finds the operation its first try opened by the request's keys, as on PostgreSQL.
CREATE INDEX payment_operations_by_request ON payment_operations (merchant_id, api_key_id, idempotency_key);
