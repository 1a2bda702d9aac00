use kassa::id::MerchantId;
use sqlx::Row;

use super::{Store, Tx};

/// The first response given to an idempotency key.
pub struct StoredResponse {
    pub fingerprint: String,
    pub status_code: u16,
    pub body: Vec<u8>,
}

pub async fn find(store: &Store, merchant: &MerchantId, key: &str) -> Result<Option<StoredResponse>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT fingerprint, status_code, body FROM idempotency_keys WHERE merchant_id = $1 AND key = $2",
    )
    .bind(merchant)
    .bind(key)
    .fetch_optional(store.reader())
    .await?;
    row.map(|row| {
        Ok(StoredResponse {
            fingerprint: row.try_get("fingerprint")?,
            status_code: row.try_get::<i64, _>("status_code")? as u16,
            body: row.try_get("body")?,
        })
    })
    .transpose()
}

/// Saves the response in the transaction that made its effect, so both land or neither does.
pub async fn save(tx: &mut Tx, merchant: &MerchantId, key: &str, fingerprint: &str, status_code: u16, body: &[u8], now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO idempotency_keys (merchant_id, key, fingerprint, status_code, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(merchant)
    .bind(key)
    .bind(fingerprint)
    .bind(i64::from(status_code))
    .bind(body)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
