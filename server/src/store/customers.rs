use kassa::api::{CardSummary, Customer, SavedPaymentMethod};
use kassa::id::{CustomerId, MerchantId, PaymentMethodId};
use serde_json::{Map, Value};

use sqlx::Row;

use super::merchants::decode_error;
use super::DbRow;
use super::{Store, Tx};
use crate::clock::format_ms;

pub async fn insert(tx: &mut Tx, merchant: &MerchantId, customer: &Customer, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO customers (id, merchant_id, email, name, metadata, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&customer.id)
        .bind(merchant)
        .bind(&customer.email)
        .bind(&customer.name)
        .bind(Value::Object(customer.metadata.clone()).to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Writes a customer's email, name and metadata; false when there is no such (undeleted) customer.
pub async fn update(tx: &mut Tx, merchant: &MerchantId, customer: &Customer) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE customers SET email = $1, name = $2, metadata = $3 WHERE merchant_id = $4 AND id = $5 AND deleted_at IS NULL")
            .bind(&customer.email)
            .bind(&customer.name)
            .bind(Value::Object(customer.metadata.clone()).to_string())
            .bind(merchant)
            .bind(&customer.id)
            .execute(&mut *tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a customer: it is found no more, and its saved cards are detached. Its payments keep
/// naming it. False when there was no such customer.
pub async fn delete(tx: &mut Tx, merchant: &MerchantId, id: &CustomerId, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE customers SET deleted_at = $1 WHERE merchant_id = $2 AND id = $3 AND deleted_at IS NULL")
        .bind(now)
        .bind(merchant)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE payment_methods SET detached_at = $1, is_default = FALSE WHERE merchant_id = $2 AND customer_id = $3 AND detached_at IS NULL")
        .bind(now)
        .bind(merchant)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

fn customer_from_row(row: &DbRow) -> Result<Customer, sqlx::Error> {
    let metadata: String = row.try_get("metadata")?;
    Ok(Customer {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        metadata: serde_json::from_str::<Map<String, Value>>(&metadata).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        created_at: format_ms(row.try_get("created_at")?),
    })
}

pub async fn find(store: &Store, merchant: &MerchantId, id: &CustomerId) -> Result<Option<Customer>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, email, name, metadata, created_at FROM customers WHERE merchant_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(merchant)
    .bind(id)
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(customer_from_row).transpose()
}

/// Newest first; `after` is the last customer of the previous page.
pub async fn list(
    store: &Store,
    merchant: &MerchantId,
    after: Option<&CustomerId>,
    email: Option<&str>,
    limit: u32,
) -> Result<(Vec<Customer>, bool), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, email, name, metadata, created_at FROM customers
         WHERE merchant_id = $1 AND deleted_at IS NULL
           AND ($2 IS NULL OR seq < (SELECT seq FROM customers WHERE merchant_id = $1 AND id = $2))
           AND ($4 IS NULL OR email = $4)
         ORDER BY seq DESC LIMIT $3",
    )
    .bind(merchant)
    .bind(after)
    .bind(i64::from(limit) + 1)
    .bind(email)
    .fetch_all(store.reader())
    .await?;
    let has_more = rows.len() > limit as usize;
    let customers = rows.iter().take(limit as usize).map(customer_from_row).collect::<Result<_, _>>()?;
    Ok((customers, has_more))
}

/// A saved card, with the processor's token for it.
#[derive(Debug, Clone)]
pub struct StoredMethod {
    pub method: SavedPaymentMethod,
    pub processor_token: String,
}

const METHOD_COLUMNS: &str =
    "id, customer_id, processor_token, brand, last4, exp_month, exp_year, fingerprint, nickname, is_default, created_at";

fn method_from_row(row: &DbRow) -> Result<StoredMethod, sqlx::Error> {
    let brand: String = row.try_get("brand")?;
    Ok(StoredMethod {
        processor_token: row.try_get("processor_token")?,
        method: SavedPaymentMethod {
            id: row.try_get("id")?,
            customer_id: row.try_get("customer_id")?,
            kind: "card".into(),
            card: CardSummary {
                brand: brand.parse().map_err(|_| decode_error("payment_methods.brand", &brand))?,
                last4: row.try_get("last4")?,
                exp_month: row.try_get::<i64, _>("exp_month")? as u32,
                exp_year: row.try_get::<i64, _>("exp_year")? as u32,
                fingerprint: row.try_get("fingerprint")?,
            },
            nickname: row.try_get("nickname")?,
            is_default: super::flag(row, "is_default")?,
            created_at: format_ms(row.try_get("created_at")?),
        },
    })
}

/// Saves a card. The customer's first card, or one saved as default, becomes the default.
pub async fn insert_method(tx: &mut Tx, merchant: &MerchantId, stored: &StoredMethod, now: i64) -> Result<SavedPaymentMethod, sqlx::Error> {
    let m = &stored.method;
    let has_default: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM payment_methods WHERE merchant_id = $2 AND customer_id = $1 AND is_default = TRUE AND detached_at IS NULL",
    )
    .bind(&m.customer_id)
    .bind(merchant)
    .fetch_optional(&mut *tx)
    .await?;
    let is_default = m.is_default || has_default.is_none();
    if is_default {
        sqlx::query("UPDATE payment_methods SET is_default = FALSE WHERE merchant_id = $2 AND customer_id = $1")
            .bind(&m.customer_id)
            .bind(merchant)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO payment_methods (id, merchant_id, customer_id, processor_token, brand, last4, exp_month,
                                      exp_year, fingerprint, nickname, is_default, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&m.id)
    .bind(merchant)
    .bind(&m.customer_id)
    .bind(&stored.processor_token)
    .bind(m.card.brand.as_str())
    .bind(&m.card.last4)
    .bind(i64::from(m.card.exp_month))
    .bind(i64::from(m.card.exp_year))
    .bind(&m.card.fingerprint)
    .bind(&m.nickname)
    .bind(is_default)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(SavedPaymentMethod { is_default, ..m.clone() })
}

pub async fn list_methods(store: &Store, merchant: &MerchantId, customer: &CustomerId) -> Result<Vec<SavedPaymentMethod>, sqlx::Error> {
    let sql = format!(
        "SELECT {METHOD_COLUMNS} FROM payment_methods
         WHERE merchant_id = $1 AND customer_id = $2 AND detached_at IS NULL
         ORDER BY is_default DESC, seq DESC"
    );
    let rows = sqlx::query(&sql).bind(merchant).bind(customer).fetch_all(store.reader()).await?;
    rows.iter().map(|row| method_from_row(row).map(|m| m.method)).collect()
}

/// A saved card that is still attached.
pub async fn find_method(store: &Store, merchant: &MerchantId, id: &PaymentMethodId) -> Result<Option<StoredMethod>, sqlx::Error> {
    let sql = format!("SELECT {METHOD_COLUMNS} FROM payment_methods WHERE merchant_id = $1 AND id = $2 AND detached_at IS NULL");
    let row = sqlx::query(&sql).bind(merchant).bind(id).fetch_optional(store.reader()).await?;
    row.as_ref().map(method_from_row).transpose()
}

/// Detaches a customer's card; false when it was not attached to that customer.
pub async fn detach_method(
    tx: &mut Tx,
    merchant: &MerchantId,
    customer: &CustomerId,
    id: &PaymentMethodId,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payment_methods SET detached_at = $1, is_default = FALSE
         WHERE merchant_id = $2 AND customer_id = $3 AND id = $4 AND detached_at IS NULL",
    )
    .bind(now)
    .bind(merchant)
    .bind(customer)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_session(
    tx: &mut Tx,
    merchant: &MerchantId,
    customer: &CustomerId,
    secret_hash: &str,
    expires_at: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO customer_sessions (secret_hash, merchant_id, customer_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(secret_hash)
    .bind(merchant)
    .bind(customer)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The customer a live session secret (by hash) belongs to.
pub async fn session_customer(
    store: &Store,
    merchant: &MerchantId,
    secret_hash: &str,
    now: i64,
) -> Result<Option<CustomerId>, sqlx::Error> {
    sqlx::query_scalar("SELECT customer_id FROM customer_sessions WHERE secret_hash = $1 AND merchant_id = $2 AND expires_at > $3")
        .bind(secret_hash)
        .bind(merchant)
        .bind(now)
        .fetch_optional(store.reader())
        .await
}
