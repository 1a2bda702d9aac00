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
    /// The operation this call was made for; none for what a processor's event recorded.
    pub operation_id: Option<&'a str>,
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
                                   provider_reference, response_code, response_text, created_at, created_by, operation_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
    .bind(t.operation_id)
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
    let rows =
        sqlx::query(&format!("SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE merchant_id = $1 AND intent_id = $2 ORDER BY seq"))
            .bind(merchant)
            .bind(intent)
            .fetch_all(store.reader())
            .await?;
    rows.iter().map(transaction_from_row).collect()
}

const TRANSACTION_COLUMNS: &str =
    "id, intent_id, kind, status, amount_cents, currency, provider_reference, response_code, response_text, created_at, created_by";

/// One call of `merchant`'s, with the intent it was made on.
pub async fn find_transaction(
    store: &Store,
    merchant: &MerchantId,
    id: &TransactionId,
) -> Result<Option<(PaymentIntentId, Transaction)>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE merchant_id = $1 AND id = $2"))
        .bind(merchant)
        .bind(id)
        .fetch_optional(store.reader())
        .await?;
    row.map(|row| Ok((row.try_get("intent_id")?, transaction_from_row(&row)?))).transpose()
}

/// Which authorizations a page of [`list_authorizations`] holds: those of one intent, or of one
/// customer's intents, after or before (newer than) a given one.
#[derive(Default)]
pub struct CallQuery<'a> {
    pub intent: Option<&'a PaymentIntentId>,
    pub customer: Option<&'a str>,
    pub after: Option<&'a TransactionId>,
    pub before: Option<&'a TransactionId>,
    pub limit: u32,
}

/// Authorization attempts (what Stripe calls charges), newest first, and whether more follow
/// (past `before`, newer ones).
pub async fn list_authorizations(
    store: &Store,
    merchant: &MerchantId,
    q: &CallQuery<'_>,
) -> Result<(Vec<(PaymentIntentId, Transaction)>, bool), sqlx::Error> {
    let columns = TRANSACTION_COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ");
    let mut sql = SqlBuilder::new(&format!(
        "SELECT {columns} FROM transactions t JOIN payment_intents i ON i.merchant_id = t.merchant_id AND i.id = t.intent_id
         WHERE t.kind = 'authorize' AND t.merchant_id = "
    ));
    sql.text(merchant);
    if let Some(intent) = q.intent {
        sql.push(" AND t.intent_id = ").text(intent);
    }
    if let Some(customer) = q.customer {
        sql.push(" AND i.customer_id = ").text(customer);
    }
    let newest_first = q.before.is_none();
    for (bound, op) in [(q.after, "<"), (q.before, ">")] {
        if let Some(id) = bound {
            sql.push(&format!(" AND t.seq {op} (SELECT seq FROM transactions WHERE merchant_id = "))
                .text(merchant)
                .push(" AND id = ")
                .text(id)
                .push(")");
        }
    }
    sql.push(if newest_first { " ORDER BY t.seq DESC LIMIT " } else { " ORDER BY t.seq ASC LIMIT " }).int(i64::from(q.limit) + 1);
    let rows = sql.query().fetch_all(store.reader()).await?;
    let has_more = rows.len() > q.limit as usize;
    let mut calls = rows
        .iter()
        .take(q.limit as usize)
        .map(|row| Ok((row.try_get("intent_id")?, transaction_from_row(row)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    if !newest_first {
        calls.reverse();
    }
    Ok((calls, has_more))
}

/// The call an operation made, once its outcome is recorded.
pub async fn outcome_of(store: &Store, merchant: &MerchantId, operation: &str) -> Result<Option<Transaction>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE merchant_id = $1 AND operation_id = $2 ORDER BY seq DESC LIMIT 1"
    ))
    .bind(merchant)
    .bind(operation)
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(transaction_from_row).transpose()
}

fn transaction_from_row(row: &DbRow) -> Result<Transaction, sqlx::Error> {
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
}
