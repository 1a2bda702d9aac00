-- webhook_attempts got its merchant_id by ALTER TABLE, which can add neither NOT NULL nor a
-- foreign key to a column: an attempt could name no merchant, or one that does not exist. The
-- table is made again with both, as PostgreSQL has it. Nothing references it, so it can be
-- dropped and the new one renamed in its place with foreign keys on; its rows keep their `seq`.
CREATE TABLE webhook_attempts_named (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    delivery_id    TEXT NOT NULL REFERENCES webhook_deliveries (id),
    endpoint_id    TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    status_code    INTEGER,
    error          TEXT,
    duration_ms    INTEGER NOT NULL,
    attempted_at   INTEGER NOT NULL
);
-- An attempt without a merchant takes its delivery's; one that still has none fails the
-- migration rather than be dropped.
INSERT INTO webhook_attempts_named (seq, merchant_id, delivery_id, endpoint_id, event_id, status_code, error, duration_ms, attempted_at)
    SELECT a.seq, COALESCE(a.merchant_id, d.merchant_id), a.delivery_id, a.endpoint_id, a.event_id, a.status_code, a.error,
           a.duration_ms, a.attempted_at
      FROM webhook_attempts a LEFT JOIN webhook_deliveries d ON d.id = a.delivery_id
     ORDER BY a.seq;
DROP TABLE webhook_attempts;
ALTER TABLE webhook_attempts_named RENAME TO webhook_attempts;
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, seq);
