-- Facts the server keeps about itself, such as which merchant is the demo shop.
CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
