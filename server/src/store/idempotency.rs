//! Idempotency rows: one per (merchant, API key, idempotency key). A row is `running` from the
//! claim of a money-moving request until its outcome is recorded, and `done` with the first reply
//! after that. Bodies are stored sealed (see [`crate::crypto`]). A request sent with two keys (the
//! `Idempotency-Key` header and another `clientRequestId`) runs under one of them; the other is an
//! `alias` row that names it (its body holds that key), so that a retry under either finds it.

use kassa::id::MerchantId;
use sqlx::Row;

use super::{Store, Tx};

/// Whose request a row belongs to.
#[derive(Debug, Clone)]
pub struct Owner<'a> {
    pub merchant: &'a MerchantId,
    /// The API key's id or the console user's: the column keeps its first name, `api_key_id`.
    pub scope: &'a str,
    pub key: &'a str,
}

pub enum Stored {
    /// Still running since `locked_at` (unix ms).
    Running {
        fingerprint: String,
        locked_at: i64,
    },
    Done {
        fingerprint: String,
        status_code: u16,
        sealed_body: Vec<u8>,
    },
    /// Another name of the request stored under `target` (of the same merchant and API key).
    Alias {
        target: String,
    },
}

pub async fn find(store: &Store, owner: &Owner<'_>) -> Result<Option<Stored>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT fingerprint, state, status_code, body, locked_at FROM idempotency_keys
         WHERE merchant_id = $1 AND api_key_id = $2 AND key = $3",
    )
    .bind(owner.merchant)
    .bind(owner.scope)
    .bind(owner.key)
    .fetch_optional(store.reader())
    .await?;
    row.map(|row| {
        let fingerprint: String = row.try_get("fingerprint")?;
        let state: String = row.try_get("state")?;
        let body = || row.try_get::<Option<Vec<u8>>, _>("body").map(Option::unwrap_or_default);
        Ok(match state.as_str() {
            "done" => Stored::Done {
                fingerprint,
                status_code: row.try_get::<Option<i64>, _>("status_code")?.unwrap_or(500) as u16,
                sealed_body: body()?,
            },
            "alias" => Stored::Alias {
                target: String::from_utf8(body()?).map_err(|_| sqlx::Error::Decode("idempotency_keys.body of an alias".into()))?,
            },
            _ => Stored::Running { fingerprint, locked_at: row.try_get("locked_at")? },
        })
    })
    .transpose()
}

/// Claims the key for a request that is about to move money: a new `running` row, or a
/// `running` row of the same request whose holder stopped before `stale_before` (it crashed
/// before claiming anything). False when another request holds the key.
pub async fn begin(tx: &mut Tx, owner: &Owner<'_>, fingerprint: &str, now: i64, stale_before: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (merchant_id, api_key_id, key, fingerprint, state, locked_at, created_at)
         VALUES ($1, $2, $3, $4, 'running', $5, $5)
         ON CONFLICT (merchant_id, api_key_id, key) DO UPDATE SET locked_at = excluded.locked_at
         WHERE idempotency_keys.state = 'running' AND idempotency_keys.fingerprint = excluded.fingerprint
           AND idempotency_keys.locked_at < $6
           AND NOT EXISTS (SELECT 1 FROM payment_operations o
                           WHERE o.merchant_id = $1 AND o.api_key_id = $2 AND o.idempotency_key = $3
                             AND o.state = 'pending')",
    )
    .bind(owner.merchant)
    .bind(owner.scope)
    .bind(owner.key)
    .bind(fingerprint)
    .bind(now)
    .bind(stale_before)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the reply of a request: completes its `running` row, or writes a `done` row for a
/// request that made its change in one transaction. False when another request holds the key.
pub async fn finish(
    tx: &mut Tx,
    owner: &Owner<'_>,
    fingerprint: &str,
    status_code: u16,
    sealed_body: &[u8],
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (merchant_id, api_key_id, key, fingerprint, state, status_code, body, locked_at, created_at)
         VALUES ($1, $2, $3, $4, 'done', $5, $6, $7, $7)
         ON CONFLICT (merchant_id, api_key_id, key) DO UPDATE
         SET state = 'done', status_code = excluded.status_code, body = excluded.body
         WHERE idempotency_keys.state = 'running' AND idempotency_keys.fingerprint = excluded.fingerprint",
    )
    .bind(owner.merchant)
    .bind(owner.scope)
    .bind(owner.key)
    .bind(fingerprint)
    .bind(i64::from(status_code))
    .bind(sealed_body)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Completes the `running` row of a request whose outcome was recorded after it (by the request
/// itself, or by the reconciler after a crash).
pub async fn complete(tx: &mut Tx, owner: &Owner<'_>, status_code: u16, sealed_body: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', status_code = $1, body = $2
         WHERE merchant_id = $3 AND api_key_id = $4 AND key = $5 AND state = 'running'",
    )
    .bind(i64::from(status_code))
    .bind(sealed_body)
    .bind(owner.merchant)
    .bind(owner.scope)
    .bind(owner.key)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Done → running again, for a retry that runs its request's operation once more (the processor
/// never saw it); false when another retry did it first.
pub async fn reopen(tx: &mut Tx, owner: &Owner<'_>, fingerprint: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE idempotency_keys SET state = 'running', status_code = NULL, body = NULL, locked_at = $1
         WHERE merchant_id = $2 AND api_key_id = $3 AND key = $4 AND state = 'done' AND fingerprint = $5",
    )
    .bind(now)
    .bind(owner.merchant)
    .bind(owner.scope)
    .bind(owner.key)
    .bind(fingerprint)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes `owner`'s key another name of the request stored (or about to be) under `target`. False
/// when the key is taken already: another request holds it, or names it.
pub async fn alias(tx: &mut Tx, owner: &Owner<'_>, target: &str, fingerprint: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (merchant_id, api_key_id, key, fingerprint, state, body, locked_at, created_at)
         VALUES ($1, $2, $3, $4, 'alias', $5, $6, $6)
         ON CONFLICT (merchant_id, api_key_id, key) DO NOTHING",
    )
    .bind(owner.merchant)
    .bind(owner.scope)
    .bind(owner.key)
    .bind(fingerprint)
    .bind(target.as_bytes())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes rows made before `before` that are done, and the other names made as long ago (a
/// running row waits for its outcome).
pub async fn purge(tx: &mut Tx, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1 AND state IN ('done', 'alias')")
        .bind(before)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected())
}

/// Fingerprints stored as they were before they were keyed (64 hex digits of an unkeyed SHA-256):
/// (merchant, scope, key, fingerprint).
pub async fn unkeyed_fingerprints(store: &Store) -> Result<Vec<(MerchantId, String, String, String)>, sqlx::Error> {
    let rows = sqlx::query("SELECT merchant_id, api_key_id, key, fingerprint FROM idempotency_keys WHERE fingerprint NOT LIKE 'mac:%'")
        .fetch_all(store.reader())
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<String, _>("merchant_id")?.parse().map_err(|_| sqlx::Error::Decode("idempotency_keys.merchant_id".into()))?,
                row.try_get("api_key_id")?,
                row.try_get("key")?,
                row.try_get("fingerprint")?,
            ))
        })
        .collect()
}

/// Replaces the fingerprint `old` of one row with `new`.
pub async fn set_fingerprint(tx: &mut Tx, owner: &Owner<'_>, old: &str, new: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET fingerprint = $1 WHERE merchant_id = $2 AND api_key_id = $3 AND key = $4 AND fingerprint = $5",
    )
    .bind(new)
    .bind(owner.merchant)
    .bind(owner.scope)
    .bind(owner.key)
    .bind(old)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
