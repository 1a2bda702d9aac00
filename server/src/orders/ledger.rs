//! An order's payments ledger, and the rules of its rows. Card payments on an order's intents
//! enter the ledger by themselves, in the transaction that changes the payment; manual payments
//! are recorded, corrected, confirmed, deleted (pending) or reversed (complete). The order's
//! status follows its balance, and `order.paid` is sent when it reaches zero.

use kassa::api::{
    Correction, CreateOrderPaymentRequest, CreateOrderRequest, IntentStatus, LedgerKind, LedgerStatus, LineItem, OrderStatus,
    UpdateOrderPaymentRequest,
};
use kassa::id::{MerchantId, OrderId, OrderPaymentId};
use kassa::MinorUnits;
use serde_json::{json, Map};

use crate::clock::{format_ms, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::store::intents::IntentRecord;
use crate::store::orders::{self, OrderRecord, PaymentRecord};
use crate::store::{events, Tx};

const MAX_TEXT: usize = 255;

fn text(field: &str, value: Option<&String>) -> ApiResult<()> {
    match value {
        Some(v) if v.is_empty() || v.chars().count() > MAX_TEXT => {
            Err(ApiError::validation(field, format!("{field} must be 1 to {MAX_TEXT} characters")))
        }
        _ => Ok(()),
    }
}

fn amount(field: &str, value: i64) -> ApiResult<()> {
    if value <= 0 || value > kassa::money::MAX_AMOUNT_CENTS {
        return Err(ApiError::validation(field, format!("{field} must be a positive whole number of minor units")));
    }
    Ok(())
}

/// The subtotal of an order's line items, once they are checked: 1 to 100 named lines, whose total
/// one payment can carry.
fn priced(items: &[LineItem]) -> ApiResult<i64> {
    if items.is_empty() || items.len() > 100 {
        return Err(ApiError::validation("lineItems", "an order has 1 to 100 line items"));
    }
    let mut subtotal: i64 = 0;
    for (i, item) in items.iter().enumerate() {
        if item.name.is_empty() || item.name.chars().count() > MAX_TEXT {
            return Err(ApiError::validation(&format!("lineItems[{i}].name"), "a line item needs a name of 1 to 255 characters"));
        }
        if !(0..=kassa::money::MAX_AMOUNT_CENTS).contains(&item.unit_amount_cents.get()) || item.quantity == 0 || item.quantity > 10_000 {
            return Err(ApiError::validation(
                &format!("lineItems[{i}]"),
                "unitAmountCents must be zero or positive and quantity 1 to 10000",
            ));
        }
        subtotal = subtotal
            .checked_add(item.unit_amount_cents.get() * i64::from(item.quantity))
            .filter(|s| *s <= kassa::money::MAX_AMOUNT_CENTS)
            .ok_or_else(|| ApiError::validation("lineItems", "the order total is too large"))?;
    }
    Ok(subtotal)
}

/// Checks and prices a new order; the client's totals, if any, are ignored.
pub fn new_order(req: CreateOrderRequest, now: i64) -> ApiResult<OrderRecord> {
    let subtotal = priced(&req.line_items)?;
    text("customerId", req.customer_id.as_ref())?;
    if req.metadata.len() > 50 {
        return Err(ApiError::validation("metadata", "metadata holds at most 50 keys"));
    }
    Ok(OrderRecord {
        id: ids::new(),
        status: if subtotal == 0 { OrderStatus::Paid } else { OrderStatus::Open },
        currency: req.currency,
        customer_id: req.customer_id,
        line_items: req.line_items,
        subtotal_cents: subtotal,
        total_cents: subtotal,
        metadata: req.metadata,
        created_at: now,
        updated_at: now,
    })
}

/// The order with new line items and the totals they make, once checked.
pub fn with_line_items(order: OrderRecord, line_items: Vec<LineItem>, now: i64) -> ApiResult<OrderRecord> {
    let subtotal = priced(&line_items)?;
    Ok(OrderRecord { line_items, subtotal_cents: subtotal, total_cents: subtotal, updated_at: now, ..order })
}

/// Recomputes the order's status from its ledger; sends `order.paid` when it becomes paid.
pub async fn settle(tx: &mut Tx, merchant: &MerchantId, order_id: &OrderId, now: i64) -> Result<(), sqlx::Error> {
    orders::lock(tx, merchant, order_id).await?;
    let Some(order) = orders::find(tx, merchant, order_id).await? else { return Ok(()) };
    let payments = orders::payments(tx, merchant, order_id).await?;
    let entries: Vec<_> = payments.iter().map(|p| (p.kind, p.status, p.amount_cents)).collect();
    let status = kassa::api::status_for(order.total_cents, kassa::api::balance(order.total_cents, &entries));
    if status != order.status {
        orders::set_status(tx, merchant, order_id, status, now).await?;
        if status == OrderStatus::Paid {
            let paid = OrderRecord { status, updated_at: now, ..order };
            let object = serde_json::to_value(paid.to_api(&payments)).unwrap_or_default();
            events::record(tx, merchant, "order.paid", object, now).await?;
        }
    }
    Ok(())
}

fn manual(order: &OrderId, kind: LedgerKind, method: &str, amount: i64, status: LedgerStatus, via: &str, now: i64) -> PaymentRecord {
    PaymentRecord {
        id: ids::new::<OrderPaymentId>(),
        order_id: order.clone(),
        kind,
        method_id: method.into(),
        amount_cents: amount,
        status,
        transaction_ref: None,
        source_payment_id: None,
        invoice_id: None,
        note: None,
        attrs: Map::new(),
        corrections: Vec::new(),
        completed_at: (status == LedgerStatus::Complete).then_some(now),
        reversed_at: None,
        created_at: now,
        created_via: via.into(),
        created_by: None,
        updated_at: now,
        updated_via: via.into(),
        updated_by: None,
    }
}

/// Keeps an order's ledger in step with a card payment on it: one receipt for what was captured
/// (reversed if the capture is voided), and a refund row for each refund.
async fn sync_card(tx: &mut Tx, merchant: &MerchantId, intent: &IntentRecord, now: i64) -> Result<(), sqlx::Error> {
    let Some(order_id) = intent.order_id.clone() else { return Ok(()) };
    if !orders::exists(tx, merchant, &order_id).await? {
        return Ok(());
    }
    let source = intent.id.to_string();
    let existing: Vec<PaymentRecord> = orders::payments(tx, merchant, &order_id)
        .await?
        .into_iter()
        .filter(|p| p.created_via == "card" && p.source_payment_id.as_deref() == Some(source.as_str()))
        .collect();
    let receipt = existing.iter().find(|p| p.kind == LedgerKind::Receipt);
    let captured = matches!(intent.status, IntentStatus::Captured | IntentStatus::PartiallyRefunded | IntentStatus::Refunded);
    match (receipt, captured, intent.status) {
        (None, true, _) => {
            let mut row = manual(&order_id, LedgerKind::Receipt, "card", intent.captured_amount_cents, LedgerStatus::Complete, "card", now);
            row.source_payment_id = Some(source.clone());
            row.transaction_ref = intent.provider_reference.clone();
            orders::insert_payment(tx, merchant, &row).await?;
        }
        (Some(r), true, _) if r.amount_cents != intent.captured_amount_cents && r.status == LedgerStatus::Complete => {
            // A tip adjusted after capture changes what was received.
            let mut row = r.clone();
            row.corrections.push(Correction {
                previous: json!({ "amountCents": r.amount_cents }).as_object().cloned().unwrap_or_default(),
                corrected_at: format_ms(now),
                corrected_via: "card".into(),
            });
            row.amount_cents = intent.captured_amount_cents;
            row.updated_at = now;
            orders::update_payment(tx, merchant, &row, r.status, r.updated_at).await?;
        }
        (Some(r), false, IntentStatus::Voided) if r.status == LedgerStatus::Complete => {
            let row = PaymentRecord {
                status: LedgerStatus::Reversed,
                reversed_at: Some(now),
                updated_at: now,
                updated_via: "card".into(),
                ..r.clone()
            };
            orders::update_payment(tx, merchant, &row, r.status, r.updated_at).await?;
        }
        _ => {}
    }
    let is_refund = |p: &&PaymentRecord| p.kind == LedgerKind::Refund && p.status == LedgerStatus::Complete;
    let mut refunded: i64 = existing.iter().filter(is_refund).map(|p| p.amount_cents).sum();
    // A refund taken back (the processor failed it after accepting it): its rows are reversed,
    // newest first, and what they overshoot is entered again.
    for r in existing.iter().rev().filter(is_refund) {
        if refunded <= intent.refunded_amount_cents {
            break;
        }
        let row = PaymentRecord {
            status: LedgerStatus::Reversed,
            reversed_at: Some(now),
            updated_at: now,
            updated_via: "card".into(),
            ..r.clone()
        };
        orders::update_payment(tx, merchant, &row, r.status, r.updated_at).await?;
        refunded -= r.amount_cents;
    }
    if intent.refunded_amount_cents > refunded {
        let mut row =
            manual(&order_id, LedgerKind::Refund, "card", intent.refunded_amount_cents - refunded, LedgerStatus::Complete, "card", now);
        row.source_payment_id = Some(source);
        orders::insert_payment(tx, merchant, &row).await?;
    }
    settle(tx, merchant, &order_id, now).await
}

/// Called in the transaction of every change to a payment intent: the order's ledger follows it,
/// and the events it stands for are written to the outbox.
pub async fn intent_changed(
    tx: &mut Tx,
    merchant: &MerchantId,
    before: Option<(IntentStatus, i64)>,
    after: &IntentRecord,
    now: i64,
) -> Result<(), sqlx::Error> {
    let object = || serde_json::to_value(after.to_api()).unwrap_or_default();
    let succeeded = IntentStatus::succeeded;
    let (before_status, before_refunded) = before.map_or((None, 0), |(s, r)| (Some(s), r));
    let changed = before_status != Some(after.status);
    if changed && succeeded(after.status) && !before_status.is_some_and(succeeded) {
        events::record(tx, merchant, "payment_intent.succeeded", object(), now).await?;
    }
    let failed_attempt = matches!(after.status, IntentStatus::Declined | IntentStatus::Error)
        || (after.status == IntentStatus::Canceled && after.last_error.is_some())
        || (after.status == IntentStatus::RequiresPaymentMethod && after.last_error.is_some() && before_status.is_some());
    if failed_attempt && (changed || after.status == IntentStatus::RequiresPaymentMethod) {
        events::record(tx, merchant, "payment_intent.payment_failed", object(), now).await?;
    }
    if changed && after.status == IntentStatus::RequiresAction {
        events::record(tx, merchant, "payment_intent.requires_action", object(), now).await?;
    }
    if changed && matches!(after.status, IntentStatus::Voided | IntentStatus::Canceled) {
        events::record(tx, merchant, "payment_intent.canceled", object(), now).await?;
    }
    if after.refunded_amount_cents > before_refunded {
        events::record(tx, merchant, "charge.refunded", object(), now).await?;
    }
    if after.refunded_amount_cents < before_refunded {
        events::record(tx, merchant, "charge.refund.failed", object(), now).await?;
    }
    sync_card(tx, merchant, after, now).await
}

/// A failed payment resolved as paid by other means: that payment enters its order's ledger.
pub async fn paid_by_other_means(
    tx: &mut Tx,
    merchant: &MerchantId,
    intent: &IntentRecord,
    method: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let Some(order_id) = intent.order_id.clone() else { return Ok(()) };
    if !orders::exists(tx, merchant, &order_id).await? {
        return Ok(());
    }
    let mut row = manual(&order_id, LedgerKind::Receipt, method, intent.total_cents(), LedgerStatus::Complete, "resolve", now);
    row.source_payment_id = Some(intent.id.to_string());
    row.note = Some("Failed card payment resolved as paid by other means".into());
    orders::insert_payment(tx, merchant, &row).await?;
    settle(tx, merchant, &order_id, now).await
}

/// Checks a manual payment and makes its row.
pub fn new_manual_payment(order: &OrderRecord, req: CreateOrderPaymentRequest, by: &str, now: i64) -> ApiResult<PaymentRecord> {
    amount("amountCents", req.amount_cents.get())?;
    if req.method_id.is_empty() || req.method_id.chars().count() > 64 || req.method_id == "card" {
        return Err(ApiError::validation(
            "methodId",
            "methodId names how it was paid (cash, cheque, external, …); card payments record themselves",
        ));
    }
    for (field, value) in
        [("transactionRef", &req.transaction_ref), ("sourcePaymentId", &req.source_payment_id), ("invoiceId", &req.invoice_id)]
    {
        text(field, value.as_ref())?;
    }
    if req.note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(ApiError::validation("note", "note must be at most 2000 characters"));
    }
    let status = req.status.unwrap_or(LedgerStatus::Complete);
    if status == LedgerStatus::Reversed {
        return Err(ApiError::validation("status", "status must be pending or complete"));
    }
    let mut row = manual(&order.id, req.kind, &req.method_id, req.amount_cents.get(), status, "api", now);
    row.transaction_ref = req.transaction_ref;
    row.source_payment_id = req.source_payment_id;
    row.invoice_id = req.invoice_id;
    row.note = req.note;
    row.attrs = req.attrs;
    row.created_by = Some(by.to_owned());
    row.updated_by = Some(by.to_owned());
    Ok(row)
}

fn refuse(payment: &PaymentRecord, action: &str) -> ApiError {
    ApiError::invalid_state(format!(
        "A {} payment cannot be {action}",
        serde_json::to_value(payment.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    ))
    .with_details(json!({ "can": payment.can() }))
}

/// A correction: the new values, with the previous ones kept.
pub fn corrected(payment: &PaymentRecord, req: UpdateOrderPaymentRequest, by: &str, now: i64) -> ApiResult<PaymentRecord> {
    if payment.created_via == "card" {
        return Err(ApiError::invalid_state("A card payment follows its payment intent; refund or void the payment instead"));
    }
    if payment.status == LedgerStatus::Reversed {
        return Err(refuse(payment, "corrected"));
    }
    if let Some(a) = req.amount_cents {
        amount("amountCents", a.get())?;
    }
    if req.method_id.as_deref().is_some_and(|m| m.is_empty() || m.chars().count() > 64 || m == "card") {
        return Err(ApiError::validation("methodId", "methodId must be 1 to 64 characters, and not card"));
    }
    let mut previous = Map::new();
    let mut next = payment.clone();
    macro_rules! change {
        ($field:ident, $name:literal, $value:expr) => {
            if let Some(value) = $value {
                previous.insert($name.into(), json!(payment.$field));
                next.$field = value;
            }
        };
    }
    change!(method_id, "methodId", req.method_id);
    change!(amount_cents, "amountCents", req.amount_cents.map(MinorUnits::get));
    change!(transaction_ref, "transactionRef", req.transaction_ref.map(Some));
    change!(invoice_id, "invoiceId", req.invoice_id.map(Some));
    change!(note, "note", req.note.map(Some));
    change!(attrs, "attrs", req.attrs);
    if previous.is_empty() {
        return Err(ApiError::validation("body", "nothing to correct"));
    }
    next.corrections.push(Correction { previous, corrected_at: format_ms(now), corrected_via: "api".into() });
    next.updated_at = now;
    next.updated_via = "api".into();
    next.updated_by = Some(by.to_owned());
    Ok(next)
}

pub fn confirmed(payment: &PaymentRecord, by: &str, now: i64) -> ApiResult<PaymentRecord> {
    if !payment.can().contains(&kassa::api::LedgerAction::Confirm) {
        return Err(refuse(payment, "confirmed"));
    }
    let by = Some(by.to_owned());
    Ok(PaymentRecord {
        status: LedgerStatus::Complete,
        completed_at: Some(now),
        updated_at: now,
        updated_via: "api".into(),
        updated_by: by,
        ..payment.clone()
    })
}

pub fn reversed(payment: &PaymentRecord, by: &str, now: i64) -> ApiResult<PaymentRecord> {
    if !payment.can().contains(&kassa::api::LedgerAction::Reverse) {
        return Err(refuse(payment, "deleted or reversed"));
    }
    let by = Some(by.to_owned());
    Ok(PaymentRecord {
        status: LedgerStatus::Reversed,
        reversed_at: Some(now),
        updated_at: now,
        updated_via: "api".into(),
        updated_by: by,
        ..payment.clone()
    })
}

pub fn now() -> i64 {
    now_ms()
}
