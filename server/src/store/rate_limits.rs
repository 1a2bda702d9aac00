//! Token buckets in the database (PostgreSQL), kept as the generic cell rate algorithm: one
//! number per bucket, the time at which it would be full again ("theoretical arrival time"). A
//! request is allowed when that time, pushed on by its cost, stays within the bucket's size of
//! now; one statement both decides and counts, so servers racing on one bucket never both take
//! its last request.

use super::Store;

/// Takes one request costing `cost_us` from a bucket holding `size_us`: `None` when allowed, or
/// how long to wait (µs) when not. `scope` is a merchant's id, or `console` for sign-ins.
pub async fn take(store: &Store, scope: &str, bucket: &str, now_us: i64, cost_us: i64, size_us: i64) -> Result<Option<i64>, sqlx::Error> {
    let allowed: Option<i64> = sqlx::query_scalar(
        "INSERT INTO rate_limits (merchant_id, bucket, full_at) VALUES ($1, $2, $3 + $4)
         ON CONFLICT (merchant_id, bucket) DO UPDATE SET full_at = GREATEST(rate_limits.full_at, $3) + $4
         WHERE GREATEST(rate_limits.full_at, $3) + $4 - $3 <= $5
         RETURNING full_at",
    )
    .bind(scope)
    .bind(bucket)
    .bind(now_us)
    .bind(cost_us)
    .bind(size_us)
    .fetch_optional(store.reader())
    .await?;
    if allowed.is_some() {
        return Ok(None);
    }
    let full_at: Option<i64> = sqlx::query_scalar("SELECT full_at FROM rate_limits WHERE merchant_id = $1 AND bucket = $2")
        .bind(scope)
        .bind(bucket)
        .fetch_optional(store.reader())
        .await?;
    Ok(Some(full_at.map_or(cost_us, |at| at.max(now_us) + cost_us - now_us - size_us)))
}

/// Drops buckets that have been full since before `before_us`.
pub async fn purge(store: &Store, before_us: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM rate_limits WHERE full_at < $1").bind(before_us).execute(store.reader()).await?;
    Ok(done.rows_affected())
}
