use kassa::api::{DeliveryAttempt, Event, WebhookEndpoint, WebhookFormat};
use kassa::id::{DeliveryId, EventId, MerchantId, WebhookEndpointId};

use sqlx::Row;

use super::{Store, Tx};
use crate::clock::format_ms;
use crate::ids;

/// Records an event and, in the same transaction, one outbox row per endpoint that wants it.
pub async fn record(tx: &mut Tx, merchant: &MerchantId, kind: &str, object: serde_json::Value, now: i64) -> Result<EventId, sqlx::Error> {
    let id: EventId = ids::new();
    let event = Event { id: id.clone(), kind: kind.to_owned(), created_at: format_ms(now), data: serde_json::json!({ "object": object }) };
    sqlx::query("INSERT INTO events (id, merchant_id, kind, body, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(merchant)
        .bind(kind)
        .bind(serde_json::to_string(&event).unwrap_or_default())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let endpoints: Vec<(WebhookEndpointId, String, String)> =
        sqlx::query_as("SELECT id, events, format FROM webhook_endpoints WHERE merchant_id = $1 AND enabled = TRUE AND deleted_at IS NULL")
            .bind(merchant)
            .fetch_all(&mut *tx)
            .await?;
    for (endpoint, events, format) in endpoints {
        let wanted: Vec<String> = serde_json::from_str(&events).unwrap_or_default();
        // A Stripe endpoint gets only the events Stripe has a type for, `*` or not.
        let speaks = format != WebhookFormat::Stripe.as_str() || kassa::api::STRIPE_EVENT_TYPES.contains(&kind);
        if speaks && wanted.iter().any(|e| e == "*" || e == kind) {
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, merchant_id, endpoint_id, event_id, status, attempts, next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)",
            )
            .bind(ids::new::<DeliveryId>())
            .bind(merchant)
            .bind(&endpoint)
            .bind(&id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(id)
}

pub async fn list(
    conn: &mut Tx,
    merchant: &MerchantId,
    kind: Option<&str>,
    after: Option<&EventId>,
    limit: u32,
) -> Result<(Vec<Event>, bool), sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT body FROM events WHERE merchant_id = $1 AND ($2 IS NULL OR kind = $2)
           AND ($3 IS NULL OR seq < (SELECT seq FROM events WHERE merchant_id = $1 AND id = $3))
         ORDER BY seq DESC LIMIT $4",
    )
    .bind(merchant)
    .bind(kind)
    .bind(after)
    .bind(i64::from(limit) + 1)
    .fetch_all(&mut *conn)
    .await?;
    let has_more = rows.len() > limit as usize;
    let events = rows
        .iter()
        .take(limit as usize)
        .map(|(body,)| serde_json::from_str(body).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .collect::<Result<_, _>>()?;
    Ok((events, has_more))
}

pub async fn find_event(conn: &mut Tx, merchant: &MerchantId, id: &EventId) -> Result<Option<Event>, sqlx::Error> {
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM events WHERE merchant_id = $1 AND id = $2")
        .bind(merchant)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    body.map(|body| serde_json::from_str(&body).map_err(|e| sqlx::Error::Decode(Box::new(e)))).transpose()
}

pub async fn event_exists(conn: &mut Tx, merchant: &MerchantId, id: &EventId) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar("SELECT seq FROM events WHERE merchant_id = $1 AND id = $2")
        .bind(merchant)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(found.is_some())
}

pub async fn insert_endpoint(
    tx: &mut Tx,
    merchant: &MerchantId,
    endpoint: &WebhookEndpoint,
    secret: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, merchant_id, url, events, enabled, secret, created_at, format) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&endpoint.id)
    .bind(merchant)
    .bind(&endpoint.url)
    .bind(serde_json::to_string(&endpoint.events).unwrap_or_default())
    .bind(endpoint.enabled)
    .bind(secret)
    .bind(now)
    .bind(endpoint.format.as_str())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Every endpoint's stored signing secret (sealed, or plain from before sealing), by endpoint.
pub async fn endpoint_secrets(store: &Store) -> Result<Vec<(MerchantId, WebhookEndpointId, String)>, sqlx::Error> {
    sqlx::query_as("SELECT merchant_id, id, secret FROM webhook_endpoints ORDER BY merchant_id, seq").fetch_all(store.reader()).await
}

pub async fn set_endpoint_secret(tx: &mut Tx, merchant: &MerchantId, id: &WebhookEndpointId, sealed: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE webhook_endpoints SET secret = $1 WHERE merchant_id = $2 AND id = $3")
        .bind(sealed)
        .bind(merchant)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

fn format_of(row: &super::DbRow) -> Result<WebhookFormat, sqlx::Error> {
    let format: String = row.try_get("format")?;
    match format.as_str() {
        "stripe" => Ok(WebhookFormat::Stripe),
        "kassa" => Ok(WebhookFormat::Kassa),
        other => Err(super::merchants::decode_error("webhook_endpoints.format", other)),
    }
}

pub async fn endpoints(conn: &mut Tx, merchant: &MerchantId) -> Result<Vec<WebhookEndpoint>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, url, events, enabled, created_at, format FROM webhook_endpoints WHERE merchant_id = $1 AND deleted_at IS NULL ORDER BY seq",
    )
    .bind(merchant)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let events: String = row.try_get("events")?;
            Ok(WebhookEndpoint {
                id: row.try_get("id")?,
                url: row.try_get("url")?,
                events: serde_json::from_str(&events).unwrap_or_default(),
                enabled: super::flag(row, "enabled")?,
                format: format_of(row)?,
                secret: None,
                created_at: format_ms(row.try_get("created_at")?),
            })
        })
        .collect()
}

pub async fn delete_endpoint(tx: &mut Tx, merchant: &MerchantId, id: &WebhookEndpointId, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE webhook_endpoints SET deleted_at = $1 WHERE merchant_id = $2 AND id = $3 AND deleted_at IS NULL")
        .bind(now)
        .bind(merchant)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn attempts(
    conn: &mut Tx,
    merchant: &MerchantId,
    endpoint: &WebhookEndpointId,
    limit: u32,
) -> Result<Vec<DeliveryAttempt>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.delivery_id, a.event_id, a.status_code, a.error, a.duration_ms, a.attempted_at, d.status, d.attempts,
                (SELECT COUNT(*) FROM webhook_attempts b
                 WHERE b.merchant_id = a.merchant_id AND b.delivery_id = a.delivery_id AND b.seq <= a.seq) AS nth
         FROM webhook_attempts a JOIN webhook_deliveries d ON d.merchant_id = a.merchant_id AND d.id = a.delivery_id
         WHERE a.merchant_id = $3 AND a.endpoint_id = $1 ORDER BY a.seq DESC LIMIT $2",
    )
    .bind(endpoint)
    .bind(i64::from(limit))
    .bind(merchant)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let final_status: String = row.try_get("status")?;
            let nth: i64 = row.try_get("nth")?;
            let total: i64 = row.try_get("attempts")?;
            let code: Option<i64> = row.try_get("status_code")?;
            Ok(DeliveryAttempt {
                delivery_id: row.try_get("delivery_id")?,
                event_id: row.try_get("event_id")?,
                status_code: code.map(|c| c as u16),
                error: row.try_get("error")?,
                duration_ms: row.try_get("duration_ms")?,
                attempted_at: format_ms(row.try_get("attempted_at")?),
                delivery_status: if nth < total { "retrying".into() } else { final_status },
            })
        })
        .collect()
}

/// What asking to send a delivery again did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendAgain {
    /// It had ended (delivered or failed) and is queued to be sent once more, now.
    Queued,
    /// It is still being tried, and is left to its retries.
    StillTrying,
    /// The endpoint has no such delivery.
    Unknown,
}

/// Queues a delivery of this endpoint that ended to be sent once more, now.
pub async fn send_again(
    tx: &mut Tx,
    merchant: &MerchantId,
    endpoint: &WebhookEndpointId,
    id: &DeliveryId,
    now: i64,
) -> Result<SendAgain, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1
         WHERE merchant_id = $2 AND endpoint_id = $3 AND id = $4 AND status IN ('delivered', 'failed')",
    )
    .bind(now)
    .bind(merchant)
    .bind(endpoint)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(SendAgain::Queued);
    }
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM webhook_deliveries WHERE merchant_id = $1 AND endpoint_id = $2 AND id = $3")
            .bind(merchant)
            .bind(endpoint)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    Ok(if exists.is_some() { SendAgain::StillTrying } else { SendAgain::Unknown })
}

/// A delivery that is due, with what sending it needs.
pub struct Due {
    pub merchant: MerchantId,
    pub id: DeliveryId,
    pub endpoint_id: WebhookEndpointId,
    pub event_id: EventId,
    pub url: String,
    pub secret: String,
    pub body: String,
    /// How the endpoint takes its deliveries.
    pub format: WebhookFormat,
    pub attempts: i64,
    /// The lease this worker holds the delivery under: its outcome is recorded only while the
    /// lease is still this one.
    pub lease_until: i64,
}

/// Claims up to `limit` due deliveries by pushing their next attempt past `lease_until`, so that
/// two workers never send the same one at once. An endpoint gets its events in the order they
/// were created: only its oldest pending delivery may be sent, and the ones after it wait until
/// it is delivered or given up (a receiver that was down gets its backlog in order, one at a
/// time, and never an event before one that came first).
pub async fn claim_due(store: &Store, now: i64, lease_until: i64, limit: u32) -> Result<Vec<Due>, sqlx::Error> {
    let candidates: Vec<(MerchantId, DeliveryId)> = sqlx::query_as(
        "SELECT merchant_id, id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.merchant_id = webhook_deliveries.merchant_id
                             AND p.endpoint_id = webhook_deliveries.endpoint_id AND p.status = 'pending' AND p.seq < webhook_deliveries.seq)
         ORDER BY next_attempt_at LIMIT $2",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(store.reader())
    .await?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    store
        .write(move |tx| {
            Box::pin(async move {
                let mut claimed = Vec::new();
                for (merchant, id) in candidates {
                    let done = sqlx::query(
                        "UPDATE webhook_deliveries SET next_attempt_at = $1
                         WHERE merchant_id = $4 AND id = $2 AND status = 'pending' AND next_attempt_at <= $3
                           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.merchant_id = $4
                                             AND p.endpoint_id = webhook_deliveries.endpoint_id AND p.status = 'pending' AND p.seq < webhook_deliveries.seq)",
                    )
                    .bind(lease_until)
                    .bind(&id)
                    .bind(now)
                    .bind(&merchant)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        continue;
                    }
                    let row = sqlx::query(
                        "SELECT d.endpoint_id, d.event_id, d.attempts, w.url, w.secret, w.enabled, w.deleted_at, w.format, e.body
                         FROM webhook_deliveries d
                         JOIN webhook_endpoints w ON w.merchant_id = d.merchant_id AND w.id = d.endpoint_id
                         JOIN events e ON e.merchant_id = d.merchant_id AND e.id = d.event_id
                         WHERE d.merchant_id = $2 AND d.id = $1",
                    )
                    .bind(&id)
                    .bind(&merchant)
                    .fetch_one(&mut *tx)
                    .await?;
                    let live = super::flag(&row, "enabled")? && row.try_get::<Option<i64>, _>("deleted_at")?.is_none();
                    if !live {
                        sqlx::query("UPDATE webhook_deliveries SET status = 'canceled' WHERE merchant_id = $1 AND id = $2")
                            .bind(&merchant)
                            .bind(&id)
                            .execute(&mut *tx)
                            .await?;
                        continue;
                    }
                    claimed.push(Due {
                        merchant,
                        id,
                        endpoint_id: row.try_get("endpoint_id")?,
                        event_id: row.try_get("event_id")?,
                        url: row.try_get("url")?,
                        secret: row.try_get("secret")?,
                        body: row.try_get("body")?,
                        format: format_of(&row)?,
                        attempts: row.try_get("attempts")?,
                        lease_until,
                    });
                }
                Ok::<_, sqlx::Error>(claimed)
            })
        })
        .await
}

pub struct AttemptResult {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// Records an attempt and what happens next: delivered, another try at `retry_at`, or failed.
/// False when the lease had passed to another worker (nothing is recorded).
pub async fn record_attempt(store: &Store, due: &Due, result: AttemptResult, now: i64, retry_at: Option<i64>) -> Result<bool, sqlx::Error> {
    let (merchant, id, endpoint, event, lease_until) =
        (due.merchant.clone(), due.id.clone(), due.endpoint_id.clone(), due.event_id.clone(), due.lease_until);
    let delivered = result.status_code.is_some_and(|c| (200..300).contains(&c));
    store
        .write(move |tx| {
            Box::pin(async move {
                let (status, next) = match (delivered, retry_at) {
                    (true, _) => ("delivered", now),
                    (false, Some(at)) => ("pending", at),
                    (false, None) => ("failed", now),
                };
                // Only while the lease is still ours: a worker whose lease ran out (another one
                // took the delivery over) records nothing.
                let held = sqlx::query(
                    "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2,
                        delivered_at = CASE WHEN $1 = 'delivered' THEN $3 ELSE delivered_at END
                     WHERE merchant_id = $6 AND id = $4 AND status = 'pending' AND next_attempt_at = $5",
                )
                .bind(status)
                .bind(next)
                .bind(now)
                .bind(&id)
                .bind(lease_until)
                .bind(&merchant)
                .execute(&mut *tx)
                .await?;
                if held.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO webhook_attempts (merchant_id, delivery_id, endpoint_id, event_id, status_code, error, duration_ms, attempted_at)
                     VALUES ($8, $1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&id)
                .bind(&endpoint)
                .bind(&event)
                .bind(result.status_code.map(i64::from))
                .bind(&result.error)
                .bind(result.duration_ms)
                .bind(now)
                .bind(&merchant)
                .execute(&mut *tx)
                .await?;
                Ok(true)
            })
        })
        .await
}
