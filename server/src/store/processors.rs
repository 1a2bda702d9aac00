//! Which processor each merchant uses, the versions of its credentials that payments were made
//! with, and the processor events already applied.

use kassa::api::ProcessorKind;
use kassa::id::MerchantId;
use sqlx::Row;

use super::{Store, Tx};

/// The processor a payment was made with: its kind and, for a connector, the version of the
/// merchant's credentials it used (`None` for the sandbox, or for credentials no longer known).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MadeWith {
    pub kind: ProcessorKind,
    pub version: Option<i64>,
}

/// A merchant's processor now: its name and, for a connector, the version of its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorRow {
    pub processor: String,
    pub version: Option<i64>,
}

pub async fn find(store: &Store, merchant: &MerchantId) -> Result<Option<ProcessorRow>, sqlx::Error> {
    let row = sqlx::query("SELECT processor, processor_version FROM merchants WHERE id = $1")
        .bind(merchant)
        .fetch_optional(store.reader())
        .await?;
    row.map(|row| Ok(ProcessorRow { processor: row.try_get("processor")?, version: row.try_get("processor_version")? })).transpose()
}

/// Makes `processor` the merchant's processor from now on. With credentials (sealed), they become
/// a new version, the one new payments are made with; the version before is retired but kept
/// while payments name it. Returns the new version.
pub async fn set(
    tx: &mut Tx,
    merchant: &MerchantId,
    processor: &str,
    credentials: Option<&str>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    // The merchant's row first: two changes of one merchant's processor take their turns, so
    // each numbers its version after the other's.
    sqlx::query("UPDATE merchants SET processor = $1 WHERE id = $2").bind(processor).bind(merchant).execute(&mut *tx).await?;
    sqlx::query("UPDATE processor_credentials SET retired_at = $1 WHERE merchant_id = $2 AND retired_at IS NULL")
        .bind(now)
        .bind(merchant)
        .execute(&mut *tx)
        .await?;
    let version = match credentials {
        Some(sealed) => {
            let last: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM processor_credentials WHERE merchant_id = $1")
                .bind(merchant)
                .fetch_one(&mut *tx)
                .await?;
            let version = last.unwrap_or(0) + 1;
            sqlx::query(
                "INSERT INTO processor_credentials (merchant_id, version, processor, credentials, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(merchant)
            .bind(version)
            .bind(processor)
            .bind(sealed)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            Some(version)
        }
        None => None,
    };
    sqlx::query("UPDATE merchants SET processor_version = $1 WHERE id = $2").bind(version).bind(merchant).execute(&mut *tx).await?;
    Ok(version)
}

/// Forgets the credentials that were retired before `retired_before` and that no payment names
/// any more: nothing can need them again. The newest version stays, so that a version number is
/// never given twice (servers keep what they built for each).
pub async fn forget_unused(tx: &mut Tx, merchant: &MerchantId, retired_before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM processor_credentials WHERE merchant_id = $1 AND retired_at < $2
           AND version < (SELECT MAX(v.version) FROM processor_credentials v WHERE v.merchant_id = processor_credentials.merchant_id)
           AND NOT EXISTS (SELECT 1 FROM payment_intents p
                            WHERE p.merchant_id = processor_credentials.merchant_id AND p.processor_version = processor_credentials.version)",
    )
    .bind(merchant)
    .bind(retired_before)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected())
}

/// One version of a merchant's credentials: the processor it is for and the sealed credentials.
pub async fn find_version(store: &Store, merchant: &MerchantId, version: i64) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT processor, credentials FROM processor_credentials WHERE merchant_id = $1 AND version = $2")
        .bind(merchant)
        .bind(version)
        .fetch_optional(store.reader())
        .await?;
    row.map(|row| Ok((row.try_get("processor")?, row.try_get("credentials")?))).transpose()
}

/// Every version of `merchant`'s credentials still kept, the newest first: `(version, processor,
/// sealed)`.
pub async fn versions(store: &Store, merchant: &MerchantId) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT version, processor, credentials FROM processor_credentials WHERE merchant_id = $1 ORDER BY version DESC")
            .bind(merchant)
            .fetch_all(store.reader())
            .await?;
    rows.iter().map(|row| Ok((row.try_get("version")?, row.try_get("processor")?, row.try_get("credentials")?))).collect()
}

/// Notes a processor event as applied; false when it was already (a replay).
pub async fn record_event(tx: &mut Tx, merchant: &MerchantId, id: &str, kind: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("INSERT INTO processor_events (merchant_id, id, kind, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
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

/// Every merchant's sealed processor credentials, each version (to seal them again under a new
/// key).
pub async fn all_sealed(store: &Store) -> Result<Vec<(MerchantId, i64, String)>, sqlx::Error> {
    let rows = sqlx::query("SELECT merchant_id, version, credentials FROM processor_credentials ORDER BY merchant_id, version")
        .fetch_all(store.reader())
        .await?;
    rows.iter().map(|row| Ok((row.try_get("merchant_id")?, row.try_get("version")?, row.try_get("credentials")?))).collect()
}

/// Replaces one version's sealed credentials, unless they changed meanwhile.
pub async fn reseal(tx: &mut Tx, merchant: &MerchantId, version: i64, old: &str, new: &str) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE processor_credentials SET credentials = $1 WHERE merchant_id = $2 AND version = $3 AND credentials = $4")
            .bind(new)
            .bind(merchant)
            .bind(version)
            .bind(old)
            .execute(&mut *tx)
            .await?;
    Ok(done.rows_affected() == 1)
}
