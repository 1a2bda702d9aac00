//! The intent's processor history: one row per call, kept so the history is complete.

use super::record::*;

/// One processor call, as recorded.
pub struct NewTransaction<'a> {
    pub intent_id: &'a PaymentIntentId,
    pub kind: TransactionType,
    pub status: TransactionStatus,
    pub amount_cents: i64,
    pub currency: Currency,
    pub provider_reference: Option<&'a str>,
    pub response_code: &'a str,
    pub response_text: &'a str,
    /// Who asked for the call ([`crate::merchants::Caller::label`]).
    pub created_by: Option<&'a str>,
}

fn transaction_type_str(kind: TransactionType) -> &'static str {
    match kind {
        TransactionType::Authorize => "authorize",
        TransactionType::Capture => "capture",
        TransactionType::Void => "void",
        TransactionType::Refund => "refund",
        TransactionType::TipAdjust => "tip_adjust",
        TransactionType::ThreeDs => "three_ds",
    }
}

fn transaction_status_str(status: TransactionStatus) -> &'static str {
    match status {
        TransactionStatus::Approved => "approved",
        TransactionStatus::Declined => "declined",
        TransactionStatus::Pending => "pending",
        TransactionStatus::Error => "error",
    }
}

pub async fn insert_transaction(tx: &mut Tx, merchant: &MerchantId, t: &NewTransaction<'_>, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO transactions (id, merchant_id, intent_id, kind, status, amount_cents, currency,
                                   provider_reference, response_code, response_text, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(crate::ids::new::<TransactionId>())
    .bind(merchant)
    .bind(t.intent_id)
    .bind(transaction_type_str(t.kind))
    .bind(transaction_status_str(t.status))
    .bind(t.amount_cents)
    .bind(t.currency.code())
    .bind(t.provider_reference)
    .bind(t.response_code)
    .bind(t.response_text)
    .bind(now)
    .bind(t.created_by)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The amount of the payment's latest approved authorization, which its tips are measured
/// against.
pub async fn authorized_amount(store: &Store, merchant: &MerchantId, intent: &PaymentIntentId) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT amount_cents FROM transactions WHERE merchant_id = $1 AND intent_id = $2 AND kind = 'authorize' AND status = 'approved'
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(merchant)
    .bind(intent)
    .fetch_optional(store.reader())
    .await
}

/// What the history holds of the refund `reference`: the amount it recorded as refunded (none when
/// it never was), and whether its failure was recorded since.
pub async fn refund_history(
    tx: &mut Tx,
    merchant: &MerchantId,
    intent: &PaymentIntentId,
    reference: &str,
) -> Result<(Option<i64>, bool), sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, amount_cents FROM transactions WHERE merchant_id = $1 AND intent_id = $2 AND kind = 'refund' AND provider_reference = $3",
    )
    .bind(merchant)
    .bind(intent)
    .bind(reference)
    .fetch_all(&mut *tx)
    .await?;
    let of = |status: TransactionStatus| rows.iter().filter(move |(s, _)| s == transaction_status_str(status)).map(|(_, amount)| *amount);
    let done = of(TransactionStatus::Approved).reduce(|a, b| a + b);
    Ok((done, of(TransactionStatus::Error).next().is_some()))
}

pub async fn list_transactions(store: &Store, merchant: &MerchantId, intent: &PaymentIntentId) -> Result<Vec<Transaction>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, kind, status, amount_cents, currency, provider_reference, response_code,
                response_text, created_at, created_by
         FROM transactions WHERE merchant_id = $1 AND intent_id = $2 ORDER BY seq",
    )
    .bind(merchant)
    .bind(intent)
    .fetch_all(store.reader())
    .await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            let status: String = row.try_get("status")?;
            let currency: String = row.try_get("currency")?;
            Ok(Transaction {
                id: row.try_get("id")?,
                kind: serde_json::from_value(Value::String(kind.clone())).map_err(|_| decode_error("transactions.kind", &kind))?,
                status: serde_json::from_value(Value::String(status.clone())).map_err(|_| decode_error("transactions.status", &status))?,
                amount_cents: row.try_get::<i64, _>("amount_cents")?.into(),
                currency: currency.parse().map_err(|_| decode_error("transactions.currency", &currency))?,
                provider_reference: row.try_get("provider_reference")?,
                response_code: row.try_get("response_code")?,
                response_text: row.try_get("response_text")?,
                created_by: row.try_get("created_by")?,
                created_at: format_ms(row.try_get("created_at")?),
            })
        })
        .collect()
}
