-- A payment stays with the processor that made it, with the very credentials it was made with.
-- Each processor a merchant chooses with credentials (a connector such as Stripe) is kept as a
-- numbered version of the merchant's credentials; a new choice adds a version instead of
-- overwriting the only copy, and an old one is kept while payments name it. The sandbox takes no
-- credentials and has no versions.
CREATE TABLE processor_credentials (
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    version      BIGINT NOT NULL,
    processor    TEXT NOT NULL,
    -- Sealed with the server's encryption key (JSON, never in the clear).
    credentials  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    -- When a later choice replaced it; NULL while it is the merchant's current one.
    retired_at   BIGINT,
    PRIMARY KEY (merchant_id, version)
);
INSERT INTO processor_credentials (merchant_id, version, processor, credentials, created_at)
    SELECT id, 1, processor, processor_credentials, created_at FROM merchants WHERE processor_credentials IS NOT NULL;

-- The merchant's current choice names its version; the credentials live with the versions only.
ALTER TABLE merchants ADD COLUMN processor_version BIGINT;
UPDATE merchants SET processor_version = 1 WHERE processor_credentials IS NOT NULL;
ALTER TABLE merchants DROP COLUMN processor_credentials;

-- The processor and credentials version a payment was made with (NULL until it is first
-- confirmed). Payments kept so far: a sandbox card stays with the sandbox; any other card was
-- made by the connector, with the merchant's credentials of now when it still uses one, or with
-- credentials no longer kept (its later calls are refused rather than sent elsewhere).
ALTER TABLE payment_intents ADD COLUMN processor TEXT;
ALTER TABLE payment_intents ADD COLUMN processor_version BIGINT;
UPDATE payment_intents SET processor = 'sandbox' WHERE processor_token LIKE 'sbx\_%' ESCAPE '\';
UPDATE payment_intents
   SET processor = COALESCE((SELECT m.processor FROM merchants m WHERE m.id = payment_intents.merchant_id AND m.processor <> 'sandbox'), 'stripe'),
       processor_version = (SELECT m.processor_version FROM merchants m WHERE m.id = payment_intents.merchant_id AND m.processor <> 'sandbox')
 WHERE processor_token IS NOT NULL AND processor_token NOT LIKE 'sbx\_%' ESCAPE '\';
-- Which versions payments still need.
CREATE INDEX payment_intents_by_processor_version ON payment_intents (merchant_id, processor_version) WHERE processor_version IS NOT NULL;
-- A payment never names credentials that are gone. (SQLite cannot add a foreign key to a table
-- that exists; there the versions a payment names are only ever deleted when none does.)
ALTER TABLE payment_intents ADD CONSTRAINT payment_intents_processor_version_fkey
    FOREIGN KEY (merchant_id, processor_version) REFERENCES processor_credentials (merchant_id, version);
