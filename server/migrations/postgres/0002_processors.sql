-- Each merchant's card processor: the sandbox by default, or a connector whose credentials are
-- kept sealed with the server's encryption key (JSON, never in the clear).
ALTER TABLE merchants ADD COLUMN processor TEXT NOT NULL DEFAULT 'sandbox';
ALTER TABLE merchants ADD COLUMN processor_credentials TEXT;

-- Events a processor sent to /processor-webhooks/…, by the processor's event id: a replay is
-- recognised and ignored.
CREATE TABLE processor_events (
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);

-- Processor events name payments by the processor's reference.
CREATE INDEX payment_intents_by_reference ON payment_intents (merchant_id, provider_reference);
