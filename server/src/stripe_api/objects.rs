//! Kassa's records as Stripe's objects: `object`, `created` in Unix seconds, lowercase
//! `currency`, `livemode: false`, Stripe's statuses and names, and `expand[]` for the objects a
//! field names.
//!
//! Ids: intents (`pi_`), customers (`cus_`), saved cards (`pm_`), events (`evt_`) and webhook
//! endpoints (`we_`) keep Kassa's own. A single-use token `tok_X` shows as the PaymentMethod
//! `pm_X` (the card keeps that id once saved, see [`crate::ids::saved_from`]); an authorization
//! attempt `txn_X` is the Charge `ch_X`; a refund operation `op_X` is the Refund `re_X`.

use kassa::api::{CaptureMethod, Customer, IntentStatus, SavedPaymentMethod, Transaction, TransactionStatus, TransactionType};
use kassa::card::CardBrand;
use kassa::id::{CustomerId, MerchantId, PaymentMethodId, TokenId};
use serde_json::{json, Map, Value};

use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::customers::{self, StoredMethod};
use crate::store::intents::{self, IntentRecord};
use crate::store::operations::OperationState;
use crate::store::tokens::{self, StoredToken};

/// What a rendering may look up, for whom, and which fields the caller asked to expand.
pub struct View<'a> {
    pub state: &'a AppState,
    pub merchant: &'a MerchantId,
    pub expand: &'a [String],
    /// A publishable key (the browser) sees an intent as Stripe.js does: no customer, metadata
    /// or charges, nothing expanded, and only the decline codes a card tester may be told.
    pub publishable: bool,
    /// Whether the caller may see customers and their cards (`payments.methods.view`): only then
    /// are `customer` and `payment_method` expanded.
    pub sees_methods: bool,
}

impl<'a> View<'a> {
    pub fn of(state: &'a AppState, caller: &'a crate::merchants::Caller, expand: &'a [String]) -> View<'a> {
        View {
            state,
            merchant: &caller.merchant_id,
            expand,
            publishable: caller.kind == kassa::api::KeyKind::Publishable,
            sees_methods: caller.require(kassa::api::Permission::MethodsView).is_ok(),
        }
    }

    /// Whether `field` is to be expanded, on the object itself or on a list's items (`data.field`).
    fn expands(&self, field: &str) -> bool {
        !self.publishable && self.expand.iter().any(|e| e == field || e.strip_prefix("data.") == Some(field))
    }
}

pub use super::wire::{seconds, seconds_of};

/// `{"object": "list", "data", "has_more", "url"}`.
pub fn list(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    json!({ "object": "list", "data": data, "has_more": has_more, "url": url })
}

/// Swaps an id's prefix: `txn_X` → `ch_X` and back.
pub fn swap_prefix(id: &str, from: &str, to: &str) -> Option<String> {
    id.strip_prefix(from).filter(|rest| !rest.is_empty()).map(|rest| format!("{to}{rest}"))
}

pub fn refund_id(operation: &str) -> String {
    swap_prefix(operation, "op_", "re_").unwrap_or_default()
}

/// The PaymentMethod id a token shows as.
pub fn token_method_id(token: &TokenId) -> PaymentMethodId {
    crate::ids::saved_from(token)
}

pub use super::wire::{charge_id, intent_status};

fn capture_method(method: CaptureMethod) -> &'static str {
    match method {
        CaptureMethod::Automatic => "automatic",
        CaptureMethod::Manual => "manual",
    }
}

fn currency(code: &str) -> String {
    code.to_ascii_lowercase()
}

fn card_details(
    brand: Option<CardBrand>,
    last4: Option<&str>,
    exp_month: Option<u32>,
    exp_year: Option<u32>,
    fingerprint: Option<&str>,
) -> Value {
    let brand = brand.unwrap_or(CardBrand::Unknown).as_str();
    json!({
        "brand": brand,
        "last4": last4,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": fingerprint,
        "funding": "unknown",
        "country": null,
        "checks": { "address_line1_check": null, "address_postal_code_check": null, "cvc_check": null },
        "networks": { "available": [brand], "preferred": null },
        "three_d_secure_usage": { "supported": true },
        "wallet": null,
    })
}

fn billing_details() -> Value {
    json!({
        "address": { "city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null },
        "email": null, "name": null, "phone": null,
    })
}

fn payment_method_object(id: &str, card: Value, customer: Option<Value>, created: i64) -> Value {
    json!({
        "id": id,
        "object": "payment_method",
        "type": "card",
        "card": card,
        "billing_details": billing_details(),
        "customer": customer,
        "created": created,
        "livemode": false,
        "metadata": {},
        "allow_redisplay": "unspecified",
    })
}

pub fn saved_method(method: &SavedPaymentMethod) -> Value {
    let c = &method.card;
    payment_method_object(
        method.id.as_str(),
        card_details(Some(c.brand), Some(&c.last4), Some(c.exp_month), Some(c.exp_year), Some(&c.fingerprint)),
        Some(json!(method.customer_id)),
        seconds_of(&method.created_at),
    )
}

pub fn token_method(token: &StoredToken) -> Value {
    let c = &token.card;
    payment_method_object(
        token_method_id(&token.id).as_str(),
        card_details(Some(c.brand), Some(&c.last4), Some(c.exp_month), Some(c.exp_year), Some(&c.fingerprint)),
        None,
        seconds(token.created_at),
    )
}

/// A PaymentMethod by its Stripe id: a saved card, or else an unused token of the same characters.
pub enum Method {
    Saved(StoredMethod),
    Token(StoredToken),
}

pub async fn find_method(state: &AppState, merchant: &MerchantId, id: &str) -> ApiResult<Option<Method>> {
    let Ok(saved_id) = id.parse::<PaymentMethodId>() else { return Ok(None) };
    if let Some(saved) = customers::find_method(&state.store, merchant, &saved_id).await? {
        return Ok(Some(Method::Saved(saved)));
    }
    let Some(token_id) = swap_prefix(id, PaymentMethodId::PREFIX, TokenId::PREFIX).and_then(|t| t.parse::<TokenId>().ok()) else {
        return Ok(None);
    };
    Ok(tokens::find(&state.store, merchant, &token_id).await?.map(Method::Token))
}

impl Method {
    pub fn render(&self) -> Value {
        match self {
            Method::Saved(saved) => saved_method(&saved.method),
            Method::Token(token) => token_method(token),
        }
    }
}

pub fn customer(c: &Customer) -> Value {
    json!({
        "id": c.id,
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": seconds_of(&c.created_at),
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": null,
        "email": c.email,
        "invoice_prefix": null,
        "invoice_settings": { "custom_fields": null, "default_payment_method": null, "footer": null, "rendering_options": null },
        "livemode": false,
        "metadata": c.metadata,
        "name": c.name,
        "phone": null,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
    })
}

/// A customer id, or the customer itself when `customer` is expanded.
async fn customer_field(v: &View<'_>, id: Option<&str>) -> ApiResult<Value> {
    let Some(id) = id else { return Ok(Value::Null) };
    if v.expands("customer") && v.sees_methods {
        if let Ok(id) = id.parse::<CustomerId>() {
            if let Some(c) = customers::find(&v.state.store, v.merchant, &id).await? {
                return Ok(customer(&c));
            }
        }
    }
    Ok(json!(id))
}

/// The PaymentMethod id of what paid for an intent (a token shows as its `pm_`).
fn method_id_of(intent: &IntentRecord) -> Option<String> {
    let id = intent.payment_method_id.as_deref()?;
    match id.parse::<TokenId>() {
        Ok(token) => Some(token_method_id(&token).to_string()),
        Err(_) => Some(id.to_owned()),
    }
}

async fn method_field(v: &View<'_>, intent: &IntentRecord) -> ApiResult<Value> {
    let Some(id) = method_id_of(intent) else { return Ok(Value::Null) };
    if v.expands("payment_method") && v.sees_methods {
        if let Some(method) = find_method(v.state, v.merchant, &id).await? {
            return Ok(method.render());
        }
    }
    Ok(json!(id))
}

fn last_payment_error(intent: &IntentRecord, publishable: bool) -> Value {
    let Some(error) = &intent.last_error else { return Value::Null };
    // Only a failure of the latest attempt is shown: one that later paid has none.
    if !matches!(intent.status, IntentStatus::RequiresPaymentMethod | IntentStatus::Declined | IntentStatus::Error) {
        return Value::Null;
    }
    let translated = super::errors::translate(
        &kassa::ErrorBody {
            code: error.code,
            message: error.message.clone(),
            details: error.decline_code.as_ref().map(|d| json!({ "declineCode": crate::payments::public_decline_code(d, publishable) })),
        },
        None,
    );
    let mut body = translated.body["error"].clone();
    if let Some(id) = method_id_of(intent) {
        body["payment_method"] = json!({ "id": id, "object": "payment_method", "type": "card" });
    }
    body
}

fn next_action(intent: &IntentRecord) -> Value {
    match (&intent.next_action, intent.status) {
        (Some(action), IntentStatus::RequiresAction) => json!({
            "type": "redirect_to_url",
            "redirect_to_url": { "url": action.url, "return_url": intent.return_url },
        }),
        _ => Value::Null,
    }
}

/// A PaymentIntent. `client_secret` is the one its creation answered, where known.
pub async fn payment_intent(v: &View<'_>, intent: &IntentRecord, client_secret: Option<&str>) -> ApiResult<Value> {
    let calls = intents::list_transactions(&v.state.store, v.merchant, &intent.id).await?;
    let latest = calls.iter().rev().find(|t| t.kind == TransactionType::Authorize);
    let latest_charge = match latest {
        Some(call) if v.expands("latest_charge") => charge(v, intent, call, &calls).await?,
        Some(call) => json!(charge_id(&call.id)),
        None => Value::Null,
    };
    let total = intent.total_cents();
    let capturable = if intent.status == IntentStatus::Authorized { total } else { 0 };
    let canceled_at =
        matches!(intent.status, IntentStatus::Voided | IntentStatus::Canceled | IntentStatus::Resolved).then(|| seconds(intent.updated_at));
    let mut object = json!({
        "id": intent.id,
        "object": "payment_intent",
        "amount": total,
        "amount_capturable": capturable,
        "amount_received": intent.captured_amount_cents,
        "amount_details": { "tip": if intent.tip_cents > 0 { json!({ "amount": intent.tip_cents }) } else { json!({}) } },
        "application": null,
        "canceled_at": canceled_at,
        "cancellation_reason": canceled_at.map(|_| if intent.status == IntentStatus::Canceled { "abandoned" } else { "requested_by_customer" }),
        "capture_method": capture_method(intent.capture_method),
        "client_secret": client_secret,
        "confirmation_method": "automatic",
        "created": seconds(intent.created_at),
        "currency": currency(intent.currency.code()),
        "customer": customer_field(v, intent.customer_id.as_deref()).await?,
        "description": intent.reference,
        "last_payment_error": last_payment_error(intent, v.publishable),
        "latest_charge": latest_charge,
        "livemode": false,
        "metadata": intent.metadata,
        "next_action": next_action(intent),
        "payment_method": method_field(v, intent).await?,
        "payment_method_types": ["card"],
        "receipt_email": null,
        "setup_future_usage": if intent.save_card { json!("off_session") } else { Value::Null },
        "statement_descriptor": null,
        "status": intent_status(intent.status),
    });
    if let Some(order) = &intent.order_id {
        object["metadata"].as_object_mut().map(|m| m.entry("kassa_order").or_insert(json!(order)));
    }
    if v.publishable {
        for field in ["customer", "description", "latest_charge"] {
            object[field] = Value::Null;
        }
        object["metadata"] = json!({});
    }
    Ok(object)
}

/// A Charge: one authorization attempt on `intent`, with what became of the payment since.
pub async fn charge(v: &View<'_>, intent: &IntentRecord, call: &Transaction, calls: &[Transaction]) -> ApiResult<Value> {
    let approved = call.status == TransactionStatus::Approved;
    // Later attempts replace this one: only the latest approved attempt holds the money.
    let latest = calls.iter().rev().find(|t| t.kind == TransactionType::Authorize).map(|t| &t.id) == Some(&call.id);
    let holds = approved && latest;
    let captured = if holds { intent.captured_amount_cents } else { 0 };
    let refunded = if holds { intent.refunded_amount_cents } else { 0 };
    let status = match call.status {
        TransactionStatus::Approved => "succeeded",
        TransactionStatus::Pending => "pending",
        TransactionStatus::Declined | TransactionStatus::Error => "failed",
    };
    let failure = (!approved && call.status != TransactionStatus::Pending).then(|| call.response_code.clone());
    let failure_code = failure.as_ref().map(|code| {
        if call.status == TransactionStatus::Error {
            "processing_error".to_owned()
        } else {
            super::errors::decline_error_code(code).to_owned()
        }
    });
    Ok(json!({
        "id": charge_id(&call.id),
        "object": "charge",
        "amount": call.amount_cents.get(),
        "amount_captured": captured,
        "amount_refunded": refunded,
        "balance_transaction": null,
        "billing_details": billing_details(),
        "captured": captured > 0,
        "created": seconds_of(&call.created_at),
        "currency": currency(call.currency.code()),
        "customer": customer_field(v, intent.customer_id.as_deref()).await?,
        "description": intent.reference,
        "disputed": false,
        "failure_code": failure_code,
        "failure_message": failure.as_ref().map(|_| call.response_text.clone()),
        "livemode": false,
        "metadata": intent.metadata,
        "outcome": {
            "network_status": if call.status == TransactionStatus::Error { "not_sent_to_network" } else if approved { "approved_by_network" } else { "declined_by_network" },
            "reason": if approved { Value::Null } else { json!(call.response_code) },
            "seller_message": call.response_text,
            "type": if approved { "authorized" } else if call.status == TransactionStatus::Error { "invalid" } else { "issuer_declined" },
        },
        "paid": approved,
        "payment_intent": intent.id,
        "payment_method": method_id_of(intent),
        "payment_method_details": {
            "type": "card",
            "card": card_details(intent.card_brand, intent.card_last4.as_deref(), intent.card_exp_month, intent.card_exp_year, intent.card_fingerprint.as_deref()),
        },
        "receipt_url": null,
        "refunded": holds && refunded > 0 && refunded >= captured,
        "status": status,
    }))
}

/// A Refund: one refund operation, and its outcome once the processor answered.
pub async fn refund(v: &View<'_>, op: &OperationState) -> ApiResult<Value> {
    let outcome = intents::outcome_of(&v.state.store, v.merchant, &op.op.id).await?;
    let status = match (&outcome, op.state.as_str()) {
        (Some(t), _) if t.status == TransactionStatus::Approved => "succeeded",
        (Some(t), _) if t.status == TransactionStatus::Pending => "pending",
        (Some(_), _) | (None, "unsent") => "failed",
        (None, "settled") => "canceled",
        (None, _) => "pending",
    };
    let calls = intents::list_transactions(&v.state.store, v.merchant, &op.op.intent_id).await?;
    let charge = calls.iter().rev().find(|t| t.kind == TransactionType::Authorize && t.status == TransactionStatus::Approved);
    let currency_code = calls.first().map(|t| currency(t.currency.code()));
    let reason: Option<String> = serde_json::from_str::<Map<String, Value>>(&op.op.plan)
        .ok()
        .and_then(|plan| plan.get("reason").and_then(Value::as_str).map(str::to_owned));
    Ok(json!({
        "id": refund_id(&op.op.id),
        "object": "refund",
        "amount": op.op.amount_cents,
        "balance_transaction": null,
        "charge": charge.map(|c| charge_id(&c.id)),
        "created": seconds(op.op.created_at),
        "currency": currency_code,
        "failure_reason": (status == "failed").then_some("unknown"),
        "metadata": {},
        "payment_intent": op.op.intent_id,
        "reason": reason,
        "receipt_number": null,
        "status": status,
    }))
}
