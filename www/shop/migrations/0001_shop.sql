-- The demo shop's own tables: what it knows of Kassa, its orders, and the events it has handled.

-- Facts the shop keeps about its Kassa account: its publishable key, its webhook endpoint.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The shop's orders, each the Kassa order it was priced into; its webhook receiver marks them paid.
CREATE TABLE shop_orders (
    order_id   TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- When Kassa says the order was paid (the event's createdAt).
    paid_at    TEXT
);

-- Kassa event ids already handled: a delivery repeated is acknowledged and ignored.
CREATE TABLE processed_events (
    event_id    TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
);
