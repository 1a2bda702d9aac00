//! The guarded changes of an intent: each is one conditional update that says whether it took,
//! so two servers never both claim a confirmation, a challenge, a hold or a refund.

use super::record::*;

/// Claims a browser confirmation: `requires_payment_method` → `processing`, held by `op`, with the
/// card, choices and processor of this attempt, if the intent is still as it was read (same
/// amount, nothing running, attempts left).
pub async fn claim_confirm(
    tx: &mut Tx,
    merchant: &MerchantId,
    intent: &IntentRecord,
    read_amount: i64,
    op: &str,
    max_failed: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payment_intents SET
            status = 'processing', pending_operation = $1, payment_method_type = $2, card_brand = $3,
            card_last4 = $4, card_fingerprint = $5, processor_token = $6, customer_id = $7,
            opener_origin = $8, return_url = $9, save_card = $10, updated_at = $11,
            card_exp_month = $12, card_exp_year = $13, tip_cents = $14, frame_ancestors = $19,
            processor = $20, processor_version = $21, payment_method_id = $22
         WHERE merchant_id = $15 AND id = $16 AND status = 'requires_payment_method'
           AND pending_operation IS NULL AND amount_cents = $17 AND failed_attempts < $18",
    )
    .bind(op)
    .bind(&intent.payment_method_type)
    .bind(intent.card_brand.map(CardBrand::as_str))
    .bind(&intent.card_last4)
    .bind(&intent.card_fingerprint)
    .bind(&intent.processor_token)
    .bind(&intent.customer_id)
    .bind(&intent.opener_origin)
    .bind(&intent.return_url)
    .bind(intent.save_card)
    .bind(intent.updated_at)
    .bind(intent.card_exp_month.map(i64::from))
    .bind(intent.card_exp_year.map(i64::from))
    .bind(intent.tip_cents)
    .bind(merchant)
    .bind(&intent.id)
    .bind(read_amount)
    .bind(max_failed)
    .bind(&intent.frame_ancestors)
    .bind(intent.made_with.map(|m| m.kind.as_str()))
    .bind(intent.made_with.and_then(|m| m.version))
    .bind(&intent.payment_method_id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims the completion of an open 3-D Secure challenge: `requires_action` → `processing`, for
/// the one request whose session matches while it is open.
pub async fn claim_challenge(
    tx: &mut Tx,
    merchant: &MerchantId,
    id: &PaymentIntentId,
    session_hash: &str,
    op: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payment_intents SET status = 'processing', pending_operation = $1, updated_at = $2
         WHERE merchant_id = $3 AND id = $4 AND status = 'requires_action'
           AND three_ds_session_hash = $5 AND pending_operation IS NULL",
    )
    .bind(op)
    .bind(now)
    .bind(merchant)
    .bind(id)
    .bind(session_hash)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes back `amount` of a refund that the processor accepted and failed afterwards: the refunded
/// amount goes down by it (and the database lets it go down only by what is recorded as reversed),
/// and the intent is captured again, in part or in full. `false` when it is not refunded that far.
pub async fn reverse_refund(tx: &mut Tx, merchant: &MerchantId, id: &PaymentIntentId, amount: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payment_intents SET refunded_amount_cents = refunded_amount_cents - $1,
            refund_reversed_cents = refund_reversed_cents + $1,
            status = CASE WHEN refunded_amount_cents = $1 THEN 'captured' ELSE 'partially_refunded' END,
            updated_at = $2
         WHERE merchant_id = $3 AND id = $4 AND status IN ('refunded', 'partially_refunded')
           AND $1 > 0 AND refunded_amount_cents >= $1",
    )
    .bind(amount)
    .bind(now)
    .bind(merchant)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What a change to a paid intent may start from.
pub enum Hold {
    /// A capture: an authorization.
    Capture,
    /// A void: an authorization, or a capture with nothing refunded.
    Void,
    /// A tip: an authorization, or a full capture with nothing refunded, whose tip is still `tip`.
    Tip { tip: i64 },
    /// A failed payment being retried.
    Retry,
}

/// Claims an intent for one change: sets `pending_operation` if nothing else holds it, no refund
/// is running, and it is in a state the change may start from.
pub async fn claim_hold(tx: &mut Tx, merchant: &MerchantId, id: &PaymentIntentId, hold: Hold, op: &str) -> Result<bool, sqlx::Error> {
    let condition = match hold {
        Hold::Capture => "status = 'authorized'".to_owned(),
        Hold::Void => "(status = 'authorized' OR (status = 'captured' AND refunded_amount_cents = 0))".to_owned(),
        Hold::Tip { tip } => format!(
            "tip_cents = {tip} AND (status = 'authorized' OR (status = 'captured' AND refunded_amount_cents = 0
                AND captured_amount_cents = amount_cents + tip_cents))"
        ),
        Hold::Retry => "status IN ('declined', 'error')".to_owned(),
    };
    let sql = format!(
        "UPDATE payment_intents SET pending_operation = $1
         WHERE merchant_id = $2 AND id = $3 AND pending_operation IS NULL AND refund_reserved_cents = 0 AND {condition}"
    );
    let done = sqlx::query(&sql).bind(op).bind(merchant).bind(id).execute(&mut *tx).await?;
    Ok(done.rows_affected() == 1)
}

/// Records the processor's reference for the payment an operation opened, while that operation
/// still holds the intent.
pub async fn set_reference(
    tx: &mut Tx,
    merchant: &MerchantId,
    id: &PaymentIntentId,
    op: &str,
    reference: &str,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE payment_intents SET provider_reference = $1 WHERE merchant_id = $2 AND id = $3 AND pending_operation = $4")
            .bind(reference)
            .bind(merchant)
            .bind(id)
            .bind(op)
            .execute(&mut *tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Reserves a refund of `amount`: never past what was captured, counting refunds still running.
pub async fn reserve_refund(tx: &mut Tx, merchant: &MerchantId, id: &PaymentIntentId, amount: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payment_intents SET refund_reserved_cents = refund_reserved_cents + $1
         WHERE merchant_id = $2 AND id = $3 AND status IN ('captured', 'partially_refunded')
           AND pending_operation IS NULL
           AND refunded_amount_cents + refund_reserved_cents + $1 <= captured_amount_cents",
    )
    .bind(amount)
    .bind(merchant)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes new terms (amount, line items, metadata) of an intent still waiting for a card.
pub async fn update_terms(tx: &mut Tx, merchant: &MerchantId, intent: &IntentRecord) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payment_intents SET amount_cents = $1, line_items = $2, metadata = $3, updated_at = $4, reference = $7
         WHERE merchant_id = $5 AND id = $6 AND status = 'requires_payment_method'",
    )
    .bind(intent.amount_cents)
    .bind(json(&intent.line_items))
    .bind(json(&intent.metadata))
    .bind(intent.updated_at)
    .bind(merchant)
    .bind(&intent.id)
    .bind(&intent.reference)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Declined or error → resolved, with how it was resolved.
pub async fn mark_resolved(
    tx: &mut Tx,
    merchant: &MerchantId,
    id: &PaymentIntentId,
    resolution: &Resolution,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payment_intents SET status = 'resolved', resolution = $1, updated_at = $2
         WHERE merchant_id = $3 AND id = $4 AND status IN ('declined', 'error') AND pending_operation IS NULL",
    )
    .bind(json(resolution))
    .bind(now)
    .bind(merchant)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An intent nobody paid yet → `canceled`: waiting for a card or for its 3-D Secure check, and
/// nothing running on it.
pub async fn cancel_unpaid(tx: &mut Tx, merchant: &MerchantId, id: &PaymentIntentId, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payment_intents SET status = 'canceled', next_action = NULL, three_ds_session_hash = NULL, updated_at = $1
         WHERE merchant_id = $2 AND id = $3 AND status IN ('requires_payment_method', 'requires_action', 'declined', 'error')
           AND pending_operation IS NULL",
    )
    .bind(now)
    .bind(merchant)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
