//! Saving a card without a payment: the setup intents.

use kassa::api::SetupIntent;
use kassa::id::{MerchantId, SetupIntentId};
use serde_json::{Map, Value};
use sqlx::Row;

use super::{DbRow, Store, Tx};
use crate::clock::format_ms;

pub async fn insert(tx: &mut Tx, merchant: &MerchantId, setup: &SetupIntent, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO setup_intents (merchant_id, id, customer_id, status, payment_method_id, usage, metadata, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(merchant)
    .bind(&setup.id)
    .bind(&setup.customer_id)
    .bind(&setup.status)
    .bind(&setup.payment_method_id)
    .bind(&setup.usage)
    .bind(Value::Object(setup.metadata.clone()).to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// `requires_payment_method` → `succeeded` with the card saved; false when it was not waiting.
pub async fn mark_succeeded(tx: &mut Tx, merchant: &MerchantId, id: &SetupIntentId, method: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE setup_intents SET status = 'succeeded', payment_method_id = $1
         WHERE merchant_id = $2 AND id = $3 AND status = 'requires_payment_method'",
    )
    .bind(method)
    .bind(merchant)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find(store: &Store, merchant: &MerchantId, id: &SetupIntentId) -> Result<Option<SetupIntent>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, customer_id, status, payment_method_id, usage, metadata, created_at FROM setup_intents
         WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant)
    .bind(id)
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

fn from_row(row: &DbRow) -> Result<SetupIntent, sqlx::Error> {
    let metadata: String = row.try_get("metadata")?;
    Ok(SetupIntent {
        id: row.try_get("id")?,
        customer_id: row.try_get("customer_id")?,
        status: row.try_get("status")?,
        payment_method_id: row.try_get("payment_method_id")?,
        usage: row.try_get("usage")?,
        metadata: serde_json::from_str::<Map<String, Value>>(&metadata).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        created_at: format_ms(row.try_get("created_at")?),
    })
}
