//! Kassa's events as Stripe's: `{"object": "event", "type", "api_version", "created", "data":
//! {"object": …}}` with the PaymentIntent (or, for `charge.refunded`, the Charge) as it was when
//! the event happened. Made from the event alone (and the id of the payment's latest charge), so
//! that the webhook outbox can write a Stripe endpoint's deliveries with it.

use kassa::api::{CaptureMethod, Event, IntentStatus, PaymentIntent};
use serde_json::{json, Value};

/// The intent's status as Stripe names it. A payment the shop's server made and that was
/// declined takes another card in Stripe; a captured one, refunded or not, has `succeeded`.
pub fn intent_status(status: IntentStatus) -> &'static str {
    match status {
        IntentStatus::RequiresPaymentMethod | IntentStatus::Declined | IntentStatus::Error => "requires_payment_method",
        IntentStatus::RequiresAction => "requires_action",
        IntentStatus::Processing => "processing",
        IntentStatus::Authorized => "requires_capture",
        IntentStatus::Captured | IntentStatus::PartiallyRefunded | IntentStatus::Refunded => "succeeded",
        IntentStatus::Voided | IntentStatus::Canceled | IntentStatus::Resolved => "canceled",
    }
}

/// The Charge a Kassa authorization attempt is: `txn_X` → `ch_X`.
pub fn charge_id(transaction: &kassa::id::TransactionId) -> String {
    let rest = transaction.as_str().strip_prefix(kassa::id::TransactionId::PREFIX).unwrap_or_default();
    format!("ch_{rest}")
}

pub use kassa::api::STRIPE_EVENT_TYPES;

/// Unix seconds of a time in milliseconds.
pub fn seconds(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// Unix seconds of an RFC 3339 time as Kassa writes them.
pub fn seconds_of(rfc3339: &str) -> i64 {
    crate::clock::parse_filter_date(rfc3339, crate::clock::RangeEnd::From).map_or(0, seconds)
}

/// A PaymentIntent from Kassa's record of it at one moment.
pub fn payment_intent(pi: &PaymentIntent, latest_charge: Option<&str>) -> Value {
    let total = pi.amount_cents.get() + pi.tip_cents.get();
    let last_error = pi.last_error.as_ref().filter(|_| intent_status(pi.status) == "requires_payment_method").map(|e| {
        let code = e.decline_code.as_deref().map_or("processing_error", super::errors::decline_error_code);
        json!({ "type": "card_error", "code": code, "decline_code": e.decline_code, "message": e.message })
    });
    json!({
        "id": pi.id,
        "object": "payment_intent",
        "amount": total,
        "amount_capturable": if pi.status == IntentStatus::Authorized { total } else { 0 },
        "amount_received": pi.captured_amount_cents.get(),
        "capture_method": if pi.capture_method == CaptureMethod::Manual { "manual" } else { "automatic" },
        "client_secret": null,
        "created": seconds_of(&pi.created_at),
        "currency": pi.currency.code().to_ascii_lowercase(),
        "customer": pi.customer_id,
        "description": pi.reference,
        "last_payment_error": last_error,
        "latest_charge": latest_charge,
        "livemode": false,
        "metadata": pi.metadata,
        "next_action": pi.next_action.as_ref().filter(|_| pi.status == IntentStatus::RequiresAction)
            .map(|a| json!({ "type": "redirect_to_url", "redirect_to_url": { "url": a.url, "return_url": null } })),
        "payment_method_types": ["card"],
        "status": intent_status(pi.status),
    })
}

/// A Charge from the intent it was made for, at one moment.
fn charge(pi: &PaymentIntent, id: Option<&str>) -> Value {
    let captured = pi.captured_amount_cents.get();
    let refunded = pi.refunded_amount_cents.get();
    json!({
        "id": id,
        "object": "charge",
        "amount": pi.amount_cents.get() + pi.tip_cents.get(),
        "amount_captured": captured,
        "amount_refunded": refunded,
        "captured": captured > 0,
        "created": seconds_of(&pi.created_at),
        "currency": pi.currency.code().to_ascii_lowercase(),
        "customer": pi.customer_id,
        "livemode": false,
        "metadata": pi.metadata,
        "paid": captured > 0,
        "payment_intent": pi.id,
        "refunded": refunded > 0 && refunded >= captured,
        "status": "succeeded",
    })
}

/// The Stripe event for a Kassa event, or none for an event Stripe has no type for.
pub fn event(event: &Event, latest_charge: Option<&str>, api_version: &str) -> Option<Value> {
    if !STRIPE_EVENT_TYPES.contains(&event.kind.as_str()) {
        return None;
    }
    let pi: PaymentIntent = serde_json::from_value(event.data["object"].clone()).ok()?;
    let object = if event.kind.starts_with("charge.") { charge(&pi, latest_charge) } else { payment_intent(&pi, latest_charge) };
    Some(json!({
        "id": event.id,
        "object": "event",
        "api_version": api_version,
        "created": seconds_of(&event.created_at),
        "data": { "object": object },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": event.kind,
    }))
}
