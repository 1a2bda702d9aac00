//! The sandbox processor's books when servers share a PostgreSQL database, so that they share
//! one sandbox as they would share one real processor: one reply per call key, whoever asks.

use super::Store;

/// The reply recorded for `key` (JSON).
pub async fn find(store: &Store, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT reply FROM sandbox_ledger WHERE key = $1").bind(key).fetch_optional(store.reader()).await
}

pub struct Entry<'a> {
    pub key: &'a str,
    pub kind: &'a str,
    pub amount_cents: Option<i64>,
    pub approved: bool,
    pub reply: &'a str,
}

/// Records a call's reply unless one is recorded for its key already; returns the recorded one
/// and whether it is this entry's (of two racing calls with one key, the first to commit is the
/// answer to both).
pub async fn record(store: &Store, entry: &Entry<'_>, now: i64) -> Result<(String, bool), sqlx::Error> {
    let inserted: Option<String> = sqlx::query_scalar(
        "INSERT INTO sandbox_ledger (key, kind, amount_cents, approved, reply, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (key) DO NOTHING RETURNING reply",
    )
    .bind(entry.key)
    .bind(entry.kind)
    .bind(entry.amount_cents)
    .bind(entry.approved)
    .bind(entry.reply)
    .bind(now)
    .fetch_optional(store.reader())
    .await?;
    match inserted {
        Some(reply) => Ok((reply, true)),
        None => Ok((find(store, entry.key).await?.ok_or(sqlx::Error::RowNotFound)?, false)),
    }
}
