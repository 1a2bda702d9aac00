use kassa::api::{KeyKind, Permission};
use kassa::id::{ApiKeyId, MerchantId};
use sqlx::Row;

use super::DbRow;
use super::{Store, Tx};

/// An API key as found by its hash.
pub struct StoredKey {
    pub id: ApiKeyId,
    pub merchant_id: MerchantId,
    pub kind: KeyKind,
    pub key_hash: String,
    pub permissions: Vec<Permission>,
    /// Unix ms after which the key no longer works (revoked, or a rolled key's grace ended).
    pub expires_at: Option<i64>,
}

impl StoredKey {
    pub fn live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

pub async fn insert_merchant(tx: &mut Tx, id: &MerchantId, name: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO merchants (id, name, created_at) VALUES ($1, $2, $3)").bind(id).bind(name).bind(now).execute(&mut *tx).await?;
    Ok(())
}

pub struct NewKey<'a> {
    pub id: &'a ApiKeyId,
    pub merchant_id: &'a MerchantId,
    pub kind: KeyKind,
    pub key_hash: &'a str,
    pub key_hint: &'a str,
    pub permissions: &'a [Permission],
    pub name: Option<&'a str>,
}

pub async fn insert_key(tx: &mut Tx, key: &NewKey<'_>, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys (id, merchant_id, kind, key_hash, key_hint, permissions, name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(key.id)
    .bind(key.merchant_id)
    .bind(kind_str(key.kind))
    .bind(key.key_hash)
    .bind(key.key_hint)
    .bind(serde_json::to_string(key.permissions).unwrap_or_else(|_| "[]".into()))
    .bind(key.name)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub async fn find_key_by_hash(store: &Store, key_hash: &str) -> Result<Option<StoredKey>, sqlx::Error> {
    let row = sqlx::query("SELECT id, merchant_id, kind, key_hash, permissions, expires_at FROM api_keys WHERE key_hash = $1")
        .bind(key_hash)
        .fetch_optional(store.reader())
        .await?;
    row.map(|row| {
        let kind: String = row.try_get("kind")?;
        let permissions: String = row.try_get("permissions")?;
        Ok(StoredKey {
            id: row.try_get("id")?,
            merchant_id: row.try_get("merchant_id")?,
            kind: parse_kind(&kind).ok_or_else(|| decode_error("api_keys.kind", &kind))?,
            key_hash: row.try_get("key_hash")?,
            permissions: serde_json::from_str(&permissions).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// A merchant's keys, oldest first, as listed (never the key).
pub async fn list_keys(store: &Store, merchant: &MerchantId) -> Result<Vec<kassa::api::ApiKey>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, kind, key_hint, permissions, name, created_at, expires_at, revoked_at
         FROM api_keys WHERE merchant_id = $1 ORDER BY created_at, id",
    )
    .bind(merchant)
    .fetch_all(store.reader())
    .await?;
    rows.iter().map(key_from_row).collect()
}

pub async fn find_key(store: &Store, merchant: &MerchantId, id: &ApiKeyId) -> Result<Option<kassa::api::ApiKey>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, kind, key_hint, permissions, name, created_at, expires_at, revoked_at
         FROM api_keys WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant)
    .bind(id)
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(key_from_row).transpose()
}

fn key_from_row(row: &DbRow) -> Result<kassa::api::ApiKey, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let permissions: String = row.try_get("permissions")?;
    let time = |column: &str| row.try_get::<Option<i64>, _>(column).map(|t| t.map(crate::clock::format_ms));
    Ok(kassa::api::ApiKey {
        id: row.try_get("id")?,
        kind: parse_kind(&kind).ok_or_else(|| decode_error("api_keys.kind", &kind))?,
        hint: row.try_get("key_hint")?,
        permissions: serde_json::from_str(&permissions).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        name: row.try_get("name")?,
        created_at: crate::clock::format_ms(row.try_get("created_at")?),
        expires_at: time("expires_at")?,
        revoked_at: time("revoked_at")?,
    })
}

/// Revokes a live key now; false when there is no such live key.
pub async fn revoke_key(tx: &mut Tx, merchant: &MerchantId, id: &ApiKeyId, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1, expires_at = $1
         WHERE merchant_id = $2 AND id = $3 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)",
    )
    .bind(now)
    .bind(merchant)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets when a live key stops working (a roll's grace period); false when it is not live.
pub async fn expire_key(tx: &mut Tx, merchant: &MerchantId, id: &ApiKeyId, at: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE api_keys SET expires_at = $1
         WHERE merchant_id = $2 AND id = $3 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $4)",
    )
    .bind(at)
    .bind(merchant)
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn name(store: &Store, id: &MerchantId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM merchants WHERE id = $1").bind(id).fetch_optional(store.reader()).await
}

pub async fn count_merchants(store: &Store) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM merchants").fetch_one(store.reader()).await
}

fn kind_str(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Secret => "secret",
        KeyKind::Restricted => "restricted",
        KeyKind::Publishable => "publishable",
    }
}

fn parse_kind(text: &str) -> Option<KeyKind> {
    [KeyKind::Secret, KeyKind::Restricted, KeyKind::Publishable].into_iter().find(|kind| kind_str(*kind) == text)
}

pub(crate) fn decode_error(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected value {value:?} in {column}").into())
}
