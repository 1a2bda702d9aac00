//! What a processor tells Kassa later: a payment that succeeded or failed after its call went
//! unanswered, a refund that Stripe finished (or failed) after saying it was pending. An event
//! settles the operation it is about through the same path as a live answer, so whichever of the
//! request, the reconciler and the event comes first records the outcome, once. An event about an
//! outcome already recorded changes nothing, and a replay is known by its id. A refund Stripe
//! accepted and that failed afterwards is taken back on the books.

use kassa::api::{IntentStatus, TransactionStatus, TransactionType};
use kassa::id::MerchantId;
use serde_json::Value;

use super::context::*;
use super::operation::{self, Answer, Operation, Plan};
use crate::clock::now_ms;
use crate::processor::{registry, stripe};
use crate::store::operations;
use crate::store::processors as processor_store;

/// What an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// It settled a pending operation.
    Settled,
    /// The outcome it reports was recorded already.
    AlreadyRecorded,
    /// A refund recorded as done failed afterwards: it was taken back, and the history says so.
    RefundFailed,
    /// This event was applied before.
    Replayed,
    /// Not about a payment of this merchant, or of a kind Kassa does not act on.
    Ignored,
}

impl Applied {
    pub fn as_str(self) -> &'static str {
        match self {
            Applied::Settled => "settled",
            Applied::AlreadyRecorded => "already_recorded",
            Applied::RefundFailed => "refund_failed",
            Applied::Replayed => "replayed",
            Applied::Ignored => "ignored",
        }
    }
}

/// How far a processor event's signature time may be from now.
const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;

/// A Stripe event sent to the processor-webhook endpoint of `merchant` (the id in its address, as
/// sent): checked against the `Stripe-Signature` value with each signing secret the merchant's
/// Stripe accounts of now and before hold, then applied once to the payments that secret vouches
/// for. A merchant without a Stripe webhook secret has no such endpoint (`NOT_FOUND`); a signature
/// that does not verify, or a body that is no event, is a `VALIDATION_ERROR`.
pub async fn receive_stripe(state: &AppState, merchant: &str, signature: &str, body: &[u8]) -> ApiResult<Applied> {
    let not_found = || ApiError::not_found("processor webhook endpoint");
    let merchant: MerchantId = merchant.parse().map_err(|_| not_found())?;
    // The merchant's Stripe accounts of now and before: Stripe goes on telling about payments made
    // with an account the merchant has moved away from.
    let secrets = registry::stripe_webhook_secrets(&state.store, &state.keyring, &merchant).await?;
    if secrets.is_empty() {
        return Err(not_found());
    }
    let now = now_ms() / 1000;
    let check = |secret: &str| kassa::webhook::verify(body, signature, secret, now, SIGNATURE_TOLERANCE_SECONDS);
    let Some(signer) = secrets.iter().find(|s| check(&s.secret).is_ok()) else {
        let e = check(&secrets[0].secret).err().map(|e| e.to_string()).unwrap_or_default();
        return Err(ApiError::validation("Stripe-Signature", format!("The Stripe-Signature header does not verify: {e}")));
    };
    let event: Value = serde_json::from_slice(body).map_err(|_| ApiError::validation("body", "A Stripe event is a JSON object"))?;
    let applied = apply_stripe_event(state, &merchant, &signer.versions, &event).await?;
    tracing::info!(%merchant, event = event["id"].as_str().unwrap_or_default(), kind = event["type"].as_str().unwrap_or_default(), applied = applied.as_str(), "Stripe event");
    Ok(applied)
}

/// Applies one (verified) Stripe event to `merchant`'s payments made with the credential
/// `versions` its signing secret vouches for; it says nothing about any other.
pub async fn apply_stripe_event(state: &AppState, merchant: &MerchantId, versions: &[i64], event: &Value) -> ApiResult<Applied> {
    let (Some(id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
        return Err(ApiError::validation("id", "A Stripe event has an id and a type"));
    };
    if processor_store::seen(&state.store, merchant, id).await? {
        return Ok(Applied::Replayed);
    }
    let object = &event["data"]["object"];
    let applied = match kind {
        "payment_intent.succeeded" | "payment_intent.amount_capturable_updated" | "payment_intent.payment_failed" => {
            payment_outcome(state, merchant, versions, object).await?
        }
        "refund.updated" | "refund.failed" | "charge.refund.updated" => {
            match refund_outcome(state, merchant, versions, id, kind, object).await? {
                // Recorded with the change it made.
                applied @ (Applied::RefundFailed | Applied::Replayed) => return Ok(applied),
                applied => applied,
            }
        }
        _ => Applied::Ignored,
    };
    let (merchant, id, kind) = (merchant.clone(), id.to_owned(), kind.to_owned());
    state.store.write(move |tx| Box::pin(async move { processor_store::record_event(tx, &merchant, &id, &kind, now_ms()).await })).await?;
    Ok(applied)
}

/// The pending operation `op_id` of `merchant`, if it still is.
async fn pending(state: &AppState, merchant: &MerchantId, op_id: &str) -> ApiResult<Option<Operation>> {
    Ok(match operations::find_pending(&state.store, merchant, op_id).await? {
        Some(row) => Some(Operation::from_row(row)?),
        None => None,
    })
}

/// `merchant`'s payment whose processor reference is `reference`, if it was made at Stripe with
/// one of the credential `versions`.
async fn payment_made_with(state: &AppState, merchant: &MerchantId, versions: &[i64], reference: &str) -> ApiResult<Option<IntentRecord>> {
    let intent = intents::find_by_reference(&state.store, merchant, reference).await?;
    Ok(intent.filter(|i| {
        i.made_with.is_some_and(|m| m.kind == kassa::api::ProcessorKind::Stripe && m.version.is_some_and(|v| versions.contains(&v)))
    }))
}

/// A PaymentIntent that ended: it settles the authorization waiting on it.
async fn payment_outcome(state: &AppState, merchant: &MerchantId, versions: &[i64], pi: &Value) -> ApiResult<Applied> {
    let Some(reference) = pi["id"].as_str() else { return Ok(Applied::Ignored) };
    let Some(intent) = payment_made_with(state, merchant, versions, reference).await? else { return Ok(Applied::Ignored) };
    if intent.status == IntentStatus::RequiresAction && intent.pending_operation.is_none() {
        // The cardholder answered Stripe's challenge page but never came back to Kassa's return
        // address (the window was closed): Stripe says how it ended.
        return Ok(if super::three_ds::resume(state, merchant, intent).await? { Applied::Settled } else { Applied::Ignored });
    }
    let op = match &intent.pending_operation {
        Some(op_id) => pending(state, merchant, op_id).await?,
        None => None,
    };
    let Some(op) = op else { return Ok(Applied::AlreadyRecorded) };
    // Kassa names its payment on every PaymentIntent it makes: an event about another payment's
    // PaymentIntent settles nothing here.
    if pi["metadata"][stripe::PAYMENT_KEY].as_str() != Some(intent.id.as_str()) {
        return Ok(Applied::Ignored);
    }
    let authorization = stripe::authorization(pi);
    let answer = match op.plan {
        // The PaymentIntent must be the one this very attempt opened, not an earlier attempt's.
        Plan::Authorize { .. } if pi["metadata"][stripe::CALL_KEY].as_str() != Some(op.processor_key("authorize").as_str()) => {
            return Ok(Applied::Ignored)
        }
        Plan::Authorize { .. } => Answer::Call(authorization),
        Plan::ThreeDs { .. } => Answer::after_challenge(reference, authorization),
        // Captures, voids and tips are settled by their own answers or the reconciler.
        _ => return Ok(Applied::Ignored),
    };
    if answer.is_unknown() {
        return Ok(Applied::Ignored);
    }
    operation::settle(state, op, answer).await?;
    Ok(Applied::Settled)
}

/// A refund that Stripe finished: it settles the refund waiting on it, or, when Kassa recorded it
/// as done and it failed afterwards, takes it back on the books: the refunded amount goes down, the
/// payment's history and its order's ledger say so, and the shop hears `charge.refund.failed`.
async fn refund_outcome(
    state: &AppState,
    merchant: &MerchantId,
    versions: &[i64],
    event_id: &str,
    kind: &str,
    refund: &Value,
) -> ApiResult<Applied> {
    let op_id = refund["metadata"][stripe::CALL_KEY].as_str().and_then(|key| key.rsplit_once('.')).map(|(op, _)| op.to_owned());
    let reply = stripe::refund_reply(refund);
    let (Some(op_id), Some(reference)) = (op_id, refund["payment_intent"].as_str()) else { return Ok(Applied::Ignored) };
    if let Some(op) = pending(state, merchant, &op_id).await? {
        if !matches!(op.plan, Plan::Refund { .. } | Plan::Void { .. }) || matches!(reply, Err(ProcessorError::Timeout)) {
            return Ok(Applied::Ignored);
        }
        // The refund must be the very call the operation made, on its own payment's PaymentIntent.
        let call = refund["metadata"][stripe::CALL_KEY].as_str();
        let of_its_payment = payment_made_with(state, merchant, versions, reference).await?.is_some_and(|intent| intent.id == op.intent_id);
        if !of_its_payment || !["refund", "void"].iter().any(|step| call == Some(op.processor_key(step).as_str())) {
            return Ok(Applied::Ignored);
        }
        operation::settle(state, op, Answer::Call(reply)).await?;
        return Ok(Applied::Settled);
    }
    let failed = matches!(&reply, Ok(r) if r.outcome != Outcome::Approved);
    let Some(intent) = payment_made_with(state, merchant, versions, reference).await? else { return Ok(Applied::Ignored) };
    let (merchant, event_id, kind) = (merchant.clone(), event_id.to_owned(), kind.to_owned());
    let refund_id = refund["id"].as_str().unwrap_or_default().to_owned();
    let logged_id = refund_id.clone();
    let reason = refund["failure_reason"].as_str().unwrap_or("Stripe could not return the money").to_owned();
    let applied = state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if !processor_store::record_event(tx, &merchant, &event_id, &kind, now_ms()).await? {
                    return Ok::<_, ApiError>(Applied::Replayed);
                }
                if !failed || refund_id.is_empty() {
                    // Recorded here already; the caller records it again, which changes nothing.
                    return Ok(Applied::AlreadyRecorded);
                }
                // Read under the intent's lock, so that of two events about one failure (Stripe
                // tells it in `refund.failed`, `refund.updated` and `charge.refund.updated`) only
                // the first finds the refund on the books and takes it back. A refund whose
                // failure was its answer never was on them.
                let now = now_ms();
                let before = intents::find_in(tx, &merchant, &intent.id).await?;
                // What is taken back is what the books recorded for this refund, whatever amount
                // the event names: an event may undo its own refund and nothing more.
                let (done, failure_recorded) = intents::refund_history(tx, &merchant, &intent.id, &refund_id).await?;
                let Some(amount) = done.filter(|_| !failure_recorded) else { return Ok(Applied::AlreadyRecorded) };
                if !intents::reverse_refund(tx, &merchant, &intent.id, amount, now).await? {
                    return Ok(Applied::AlreadyRecorded);
                }
                let after = intents::find_in(tx, &merchant, &intent.id).await?;
                let call = intents::NewTransaction {
                    intent_id: &intent.id,
                    kind: TransactionType::Refund,
                    status: TransactionStatus::Error,
                    amount_cents: amount,
                    currency: intent.currency,
                    provider_reference: Some(&refund_id),
                    response_code: "refund_failed",
                    response_text: &reason,
                    created_by: None,
                    operation_id: None,
                };
                intents::insert_transaction(tx, &merchant, &call, now).await?;
                crate::orders::ledger::intent_changed(tx, &merchant, Some((before.status, before.refunded_amount_cents)), &after, now)
                    .await?;
                Ok(Applied::RefundFailed)
            })
        })
        .await?;
    if applied == Applied::RefundFailed {
        tracing::warn!(refund_id = %logged_id, "Stripe reports that a refund it had accepted failed; the refund is taken back and the money was not returned");
    }
    Ok(applied)
}
