//! Which processor each merchant uses, and the processor events already applied.

use kassa::id::MerchantId;
use sqlx::Row;

use super::{Store, Tx};

/// A merchant's processor: its name and its sealed credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorRow {
    pub processor: String,
    pub credentials: Option<String>,
}

pub async fn find(store: &Store, merchant: &MerchantId) -> Result<Option<ProcessorRow>, sqlx::Error> {
    let row = sqlx::query("SELECT processor, processor_credentials FROM merchants WHERE id = $1")
        .bind(merchant)
        .fetch_optional(store.reader())
        .await?;
    row.map(|row| Ok(ProcessorRow { processor: row.try_get("processor")?, credentials: row.try_get("processor_credentials")? })).transpose()
}

pub async fn set(tx: &mut Tx, merchant: &MerchantId, processor: &str, credentials: Option<&str>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE merchants SET processor = $1, processor_credentials = $2 WHERE id = $3")
        .bind(processor)
        .bind(credentials)
        .bind(merchant)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Notes a processor event as applied; false when it was already (a replay).
pub async fn record_event(tx: &mut Tx, merchant: &MerchantId, id: &str, kind: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("INSERT INTO processor_events (merchant_id, id, kind, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
        .bind(merchant)
        .bind(id)
        .bind(kind)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether `merchant` applied the processor event `id` already.
pub async fn seen(store: &Store, merchant: &MerchantId, id: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar("SELECT received_at FROM processor_events WHERE merchant_id = $1 AND id = $2")
        .bind(merchant)
        .bind(id)
        .fetch_optional(store.reader())
        .await?;
    Ok(found.is_some())
}

/// Every merchant's sealed processor credentials (to seal them again under a new key).
pub async fn all_sealed(store: &Store) -> Result<Vec<(MerchantId, String)>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, processor_credentials FROM merchants WHERE processor_credentials IS NOT NULL").fetch_all(store.reader()).await?;
    rows.iter().map(|row| Ok((row.try_get("id")?, row.try_get("processor_credentials")?))).collect()
}

/// Replaces sealed credentials, unless they changed meanwhile.
pub async fn reseal(tx: &mut Tx, merchant: &MerchantId, old: &str, new: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE merchants SET processor_credentials = $1 WHERE id = $2 AND processor_credentials = $3")
        .bind(new)
        .bind(merchant)
        .bind(old)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}
