//! A payment intent as stored: the record, its row, and reading and writing it whole.

pub(super) use kassa::api::{
    CaptureMethod, IntentStatus, LastError, LineItem, NextAction, PaymentIntent, Resolution, Transaction, TransactionStatus,
    TransactionType,
};
pub(super) use kassa::card::CardBrand;
pub(super) use kassa::id::{MerchantId, OrderId, PaymentIntentId, TransactionId};
pub(super) use kassa::Currency;
pub(super) use serde_json::{Map, Value};

pub(super) use sqlx::Row;

pub(super) use crate::clock::format_ms;
pub(super) use crate::store::merchants::decode_error;
pub use crate::store::processors::MadeWith;
pub(super) use crate::store::DbRow;
pub(super) use crate::store::{Backend, SqlBuilder, Store, Tx};

/// A payment intent as stored, including what never leaves the server (the processor's token
/// for the card, the card fingerprint).
#[derive(Debug, Clone)]
pub struct IntentRecord {
    pub id: PaymentIntentId,
    pub status: IntentStatus,
    pub amount_cents: i64,
    pub tip_cents: i64,
    pub captured_amount_cents: i64,
    pub refunded_amount_cents: i64,
    pub currency: Currency,
    pub capture_method: CaptureMethod,
    pub payment_method_type: Option<String>,
    pub card_brand: Option<CardBrand>,
    pub card_last4: Option<String>,
    pub card_fingerprint: Option<String>,
    pub card_exp_month: Option<u32>,
    pub card_exp_year: Option<u32>,
    pub processor_token: Option<String>,
    pub auth_code: Option<String>,
    pub avs_response: Option<String>,
    pub cvv_response: Option<String>,
    pub provider_reference: Option<String>,
    pub order_id: Option<OrderId>,
    /// The shop's own reference.
    pub reference: Option<String>,
    pub customer_id: Option<String>,
    pub location_id: Option<String>,
    pub terminal_id: Option<String>,
    pub line_items: Vec<LineItem>,
    pub metadata: Map<String, Value>,
    pub next_action: Option<NextAction>,
    pub last_error: Option<LastError>,
    pub created_at: i64,
    pub updated_at: i64,
    /// SHA-256 of the client secret, for intents the browser confirms.
    pub client_secret_hash: Option<String>,
    /// SHA-256 of the secret in the 3-D Secure page's address, while a challenge is open.
    pub three_ds_session_hash: Option<String>,
    /// The origin of the page that confirmed, the only one the challenge page will tell.
    pub opener_origin: Option<String>,
    /// The origins of the pages around the confirming one (space-separated), which may frame
    /// the challenge page too.
    pub frame_ancestors: Option<String>,
    pub return_url: Option<String>,
    /// Save the card to the customer once the payment succeeds.
    pub save_card: bool,
    pub resolution: Option<Resolution>,
    /// The operation that holds the payment while it runs (authorize, capture, void or tip).
    pub pending_operation: Option<String>,
    /// Refunds claimed and not yet answered by the processor.
    pub refund_reserved_cents: i64,
    /// Declined or failed attempts to pay a browser-confirmed intent.
    pub failed_attempts: i64,
    /// The processor (and credentials) the payment was made with, from its first confirmation on;
    /// every later call on it goes there.
    pub made_with: Option<MadeWith>,
    /// What paid, by id: the single-use token (`tok_…`) or the saved card (`pm_…`); none for a
    /// card typed into the request itself.
    pub payment_method_id: Option<String>,
}

impl IntentRecord {
    /// The amount the card is charged for: the amount plus the tip.
    pub fn total_cents(&self) -> i64 {
        self.amount_cents + self.tip_cents
    }

    pub fn to_api(&self) -> PaymentIntent {
        PaymentIntent {
            id: self.id.clone(),
            status: self.status,
            amount_cents: self.amount_cents.into(),
            tip_cents: self.tip_cents.into(),
            captured_amount_cents: self.captured_amount_cents.into(),
            refunded_amount_cents: self.refunded_amount_cents.into(),
            currency: self.currency,
            capture_method: self.capture_method,
            payment_method_type: self.payment_method_type.clone(),
            card_brand: self.card_brand,
            card_last4: self.card_last4.clone(),
            auth_code: self.auth_code.clone(),
            avs_response: self.avs_response.clone(),
            cvv_response: self.cvv_response.clone(),
            provider_reference: self.provider_reference.clone(),
            order_id: self.order_id.clone(),
            reference: self.reference.clone(),
            customer_id: self.customer_id.clone(),
            location_id: self.location_id.clone(),
            terminal_id: self.terminal_id.clone(),
            line_items: self.line_items.clone(),
            metadata: self.metadata.clone(),
            next_action: self.next_action.clone(),
            last_error: self.last_error.clone(),
            resolution: self.resolution.clone(),
            created_at: format_ms(self.created_at),
            updated_at: format_ms(self.updated_at),
            client_secret: None,
        }
    }
}

pub(super) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

pub(super) fn capture_method_str(method: CaptureMethod) -> &'static str {
    match method {
        CaptureMethod::Automatic => "automatic",
        CaptureMethod::Manual => "manual",
    }
}

pub async fn insert(tx: &mut Tx, merchant: &MerchantId, intent: &IntentRecord) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payment_intents (
            id, merchant_id, status, amount_cents, tip_cents, captured_amount_cents,
            refunded_amount_cents, currency, capture_method, payment_method_type, card_brand,
            card_last4, card_fingerprint, processor_token, auth_code, avs_response, cvv_response,
            provider_reference, order_id, customer_id, location_id, terminal_id, line_items,
            metadata, next_action, last_error, created_at, updated_at, client_secret_hash,
            three_ds_session_hash, opener_origin, return_url, save_card, resolution, card_exp_month,
            card_exp_year, pending_operation, refund_reserved_cents, failed_attempts, frame_ancestors,
            reference, processor, processor_version, payment_method_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34,
                 $35, $36, $37, $38, $39, $40, $41, $42, $43, $44)",
    )
    .bind(&intent.id)
    .bind(merchant)
    .bind(intent.status.as_str())
    .bind(intent.amount_cents)
    .bind(intent.tip_cents)
    .bind(intent.captured_amount_cents)
    .bind(intent.refunded_amount_cents)
    .bind(intent.currency.code())
    .bind(capture_method_str(intent.capture_method))
    .bind(&intent.payment_method_type)
    .bind(intent.card_brand.map(CardBrand::as_str))
    .bind(&intent.card_last4)
    .bind(&intent.card_fingerprint)
    .bind(&intent.processor_token)
    .bind(&intent.auth_code)
    .bind(&intent.avs_response)
    .bind(&intent.cvv_response)
    .bind(&intent.provider_reference)
    .bind(&intent.order_id)
    .bind(&intent.customer_id)
    .bind(&intent.location_id)
    .bind(&intent.terminal_id)
    .bind(json(&intent.line_items))
    .bind(json(&intent.metadata))
    .bind(intent.next_action.as_ref().map(json))
    .bind(intent.last_error.as_ref().map(json))
    .bind(intent.created_at)
    .bind(intent.updated_at)
    .bind(&intent.client_secret_hash)
    .bind(&intent.three_ds_session_hash)
    .bind(&intent.opener_origin)
    .bind(&intent.return_url)
    .bind(intent.save_card)
    .bind(intent.resolution.as_ref().map(json))
    .bind(intent.card_exp_month.map(i64::from))
    .bind(intent.card_exp_year.map(i64::from))
    .bind(&intent.pending_operation)
    .bind(intent.refund_reserved_cents)
    .bind(intent.failed_attempts)
    .bind(&intent.frame_ancestors)
    .bind(&intent.reference)
    .bind(intent.made_with.map(|m| m.kind.as_str()))
    .bind(intent.made_with.and_then(|m| m.version))
    .bind(&intent.payment_method_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Writes every column an operation's outcome may change. Called with the operation settled in
/// the same transaction, on the intent as read in that transaction.
pub async fn save(tx: &mut Tx, merchant: &MerchantId, intent: &IntentRecord) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payment_intents SET
            status = $1, captured_amount_cents = $2, payment_method_type = $3, card_brand = $4,
            card_last4 = $5, card_fingerprint = $6, processor_token = $7, auth_code = $8,
            avs_response = $9, cvv_response = $10, provider_reference = $11, customer_id = $12,
            next_action = $13, last_error = $14, three_ds_session_hash = $15, opener_origin = $16,
            return_url = $17, save_card = $18, updated_at = $19, card_exp_month = $22,
            card_exp_year = $23, tip_cents = $24, refunded_amount_cents = $25,
            pending_operation = $26, refund_reserved_cents = $27, failed_attempts = $28,
            resolution = $29, amount_cents = $30, payment_method_id = $31
         WHERE merchant_id = $20 AND id = $21",
    )
    .bind(intent.status.as_str())
    .bind(intent.captured_amount_cents)
    .bind(&intent.payment_method_type)
    .bind(intent.card_brand.map(CardBrand::as_str))
    .bind(&intent.card_last4)
    .bind(&intent.card_fingerprint)
    .bind(&intent.processor_token)
    .bind(&intent.auth_code)
    .bind(&intent.avs_response)
    .bind(&intent.cvv_response)
    .bind(&intent.provider_reference)
    .bind(&intent.customer_id)
    .bind(intent.next_action.as_ref().map(json))
    .bind(intent.last_error.as_ref().map(json))
    .bind(&intent.three_ds_session_hash)
    .bind(&intent.opener_origin)
    .bind(&intent.return_url)
    .bind(intent.save_card)
    .bind(intent.updated_at)
    .bind(merchant)
    .bind(&intent.id)
    .bind(intent.card_exp_month.map(i64::from))
    .bind(intent.card_exp_year.map(i64::from))
    .bind(intent.tip_cents)
    .bind(intent.refunded_amount_cents)
    .bind(&intent.pending_operation)
    .bind(intent.refund_reserved_cents)
    .bind(intent.failed_attempts)
    .bind(intent.resolution.as_ref().map(json))
    .bind(intent.amount_cents)
    .bind(&intent.payment_method_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// An intent by id alone, with its merchant: for the 3-D Secure page, which has no key.
pub async fn find_any(store: &Store, id: &PaymentIntentId) -> Result<Option<(MerchantId, IntentRecord)>, sqlx::Error> {
    let sql = format!("SELECT merchant_id, {INTENT_COLUMNS} FROM payment_intents WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(store.reader()).await?;
    row.map(|row| Ok((row.try_get("merchant_id")?, intent_from_row(&row)?))).transpose()
}

pub(super) const INTENT_COLUMNS: &str = "seq, id, status, amount_cents, tip_cents, captured_amount_cents,
    refunded_amount_cents, currency, capture_method, payment_method_type, card_brand, card_last4,
    card_fingerprint, processor_token, auth_code, avs_response, cvv_response, provider_reference,
    order_id, customer_id, location_id, terminal_id, line_items, metadata, next_action, last_error,
    created_at, updated_at, client_secret_hash, three_ds_session_hash, opener_origin, return_url,
    save_card, resolution, card_exp_month, card_exp_year, pending_operation, refund_reserved_cents,
    failed_attempts, frame_ancestors, reference, processor, processor_version, payment_method_id";

pub(super) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub(super) fn intent_from_row(row: &DbRow) -> Result<IntentRecord, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let currency: String = row.try_get("currency")?;
    let capture_method: String = row.try_get("capture_method")?;
    let brand: Option<String> = row.try_get("card_brand")?;
    let next_action: Option<String> = row.try_get("next_action")?;
    let last_error: Option<String> = row.try_get("last_error")?;
    let resolution: Option<String> = row.try_get("resolution")?;
    let processor: Option<String> = row.try_get("processor")?;
    let made_with = processor
        .map(|p| kassa::api::ProcessorKind::parse(&p).ok_or_else(|| decode_error("processor", &p)))
        .transpose()?
        .map(|kind| Ok::<_, sqlx::Error>(MadeWith { kind, version: row.try_get("processor_version")? }))
        .transpose()?;
    Ok(IntentRecord {
        id: row.try_get("id")?,
        status: status.parse().map_err(|_| decode_error("status", &status))?,
        amount_cents: row.try_get("amount_cents")?,
        tip_cents: row.try_get("tip_cents")?,
        captured_amount_cents: row.try_get("captured_amount_cents")?,
        refunded_amount_cents: row.try_get("refunded_amount_cents")?,
        currency: currency.parse().map_err(|_| decode_error("currency", &currency))?,
        capture_method: match capture_method.as_str() {
            "manual" => CaptureMethod::Manual,
            "automatic" => CaptureMethod::Automatic,
            other => return Err(decode_error("capture_method", other)),
        },
        payment_method_type: row.try_get("payment_method_type")?,
        card_brand: brand.map(|b| b.parse().map_err(|_| decode_error("card_brand", &b))).transpose()?,
        card_last4: row.try_get("card_last4")?,
        card_fingerprint: row.try_get("card_fingerprint")?,
        card_exp_month: row.try_get::<Option<i64>, _>("card_exp_month")?.map(|m| m as u32),
        card_exp_year: row.try_get::<Option<i64>, _>("card_exp_year")?.map(|y| y as u32),
        processor_token: row.try_get("processor_token")?,
        auth_code: row.try_get("auth_code")?,
        avs_response: row.try_get("avs_response")?,
        cvv_response: row.try_get("cvv_response")?,
        provider_reference: row.try_get("provider_reference")?,
        order_id: row.try_get("order_id")?,
        reference: row.try_get("reference")?,
        customer_id: row.try_get("customer_id")?,
        location_id: row.try_get("location_id")?,
        terminal_id: row.try_get("terminal_id")?,
        line_items: parse_json(row.try_get("line_items")?)?,
        metadata: parse_json(row.try_get("metadata")?)?,
        next_action: next_action.as_deref().map(parse_json).transpose()?,
        last_error: last_error.as_deref().map(parse_json).transpose()?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        client_secret_hash: row.try_get("client_secret_hash")?,
        three_ds_session_hash: row.try_get("three_ds_session_hash")?,
        opener_origin: row.try_get("opener_origin")?,
        return_url: row.try_get("return_url")?,
        save_card: crate::store::flag(row, "save_card")?,
        resolution: resolution.as_deref().map(parse_json).transpose()?,
        pending_operation: row.try_get("pending_operation")?,
        refund_reserved_cents: row.try_get("refund_reserved_cents")?,
        failed_attempts: row.try_get("failed_attempts")?,
        frame_ancestors: row.try_get("frame_ancestors")?,
        made_with,
        payment_method_id: row.try_get("payment_method_id")?,
    })
}

pub async fn find(store: &Store, merchant: &MerchantId, id: &PaymentIntentId) -> Result<Option<IntentRecord>, sqlx::Error> {
    let sql = format!("SELECT {INTENT_COLUMNS} FROM payment_intents WHERE merchant_id = $1 AND id = $2");
    let row = sqlx::query(&sql).bind(merchant).bind(id).fetch_optional(store.reader()).await?;
    row.as_ref().map(intent_from_row).transpose()
}

/// The intent of `merchant` whose payment the processor knows by `reference`.
pub async fn find_by_reference(store: &Store, merchant: &MerchantId, reference: &str) -> Result<Option<IntentRecord>, sqlx::Error> {
    let sql = format!(
        "SELECT {INTENT_COLUMNS} FROM payment_intents WHERE merchant_id = $1 AND provider_reference = $2 ORDER BY seq DESC LIMIT 1"
    );
    let row = sqlx::query(&sql).bind(merchant).bind(reference).fetch_optional(store.reader()).await?;
    row.as_ref().map(intent_from_row).transpose()
}

/// Reads an intent inside the write transaction and keeps it locked until the commit, so that
/// what the change computes from it stays true (servers change one intent one at a time).
pub async fn find_in(tx: &mut Tx, merchant: &MerchantId, id: &PaymentIntentId) -> Result<IntentRecord, sqlx::Error> {
    let lock = Backend::of(tx).for_update();
    let sql = format!("SELECT {INTENT_COLUMNS} FROM payment_intents WHERE merchant_id = $1 AND id = $2{lock}");
    let row = sqlx::query(&sql).bind(merchant).bind(id).fetch_one(&mut *tx).await?;
    intent_from_row(&row)
}

/// Whether the intent exists for this merchant (so a cursor can be checked).
pub async fn exists(store: &Store, merchant: &MerchantId, id: &PaymentIntentId) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar("SELECT seq FROM payment_intents WHERE merchant_id = $1 AND id = $2")
        .bind(merchant)
        .bind(id)
        .fetch_optional(store.reader())
        .await?;
    Ok(found.is_some())
}
