//! What happens to a payment after it is made: capture, void, refund, tip, and closing a failed
//! payment by hand.

use kassa::api::{CaptureRequest, Data, IntentStatus, RefundRequest, Resolution, ResolveRequest, TipRequest, VoidRequest};
use kassa::id::PaymentIntentId;
use kassa::MinorUnits;
use serde_json::json;

use super::checks::{check_amount, check_text};
use super::context::*;
use super::operation::{self, Answer, Operation, Plan};
use crate::clock::{format_ms, now_ms};
use crate::idempotency::Recorded;
use crate::store::intents::Hold;

/// Claims a hold on the intent for `plan` (or, for a refund, reserves its amount), and answers
/// `refused` (or "busy, retry") when the intent is not this request's to change.
async fn claim_change(ctx: &Ctx<'_>, intent: &IntentRecord, plan: Plan, hold: Option<Hold>, refused: ApiError) -> ApiResult<Operation> {
    let op = Operation::new(ctx, &intent.id, plan.clone());
    let (merchant, id, op_id) = (ctx.merchant.clone(), intent.id.clone(), op.id.clone());
    operation::claim(ctx, &op, move |tx| {
        Box::pin(async move {
            let won = match (hold, &plan) {
                (_, Plan::Refund { amount_cents, .. }) => intents::reserve_refund(tx, &merchant, &id, *amount_cents).await?,
                (Some(hold), _) => intents::claim_hold(tx, &merchant, &id, hold, &op_id).await?,
                (None, _) => false,
            };
            if won {
                return Ok(());
            }
            let now = intents::find_in(tx, &merchant, &id).await?;
            Err(operation::busy_or(&now, refused_now(&now, refused)))
        })
    })
    .await?;
    Ok(op)
}

/// The refusal, restated for the intent as it is now when its status moved on.
fn refused_now(now: &IntentRecord, refused: ApiError) -> ApiError {
    match refused.details.as_ref().and_then(|d| d["status"].as_str()) {
        Some(status) if status != now.status.as_str() => {
            ApiError::invalid_state("The payment changed while this request ran; fetch it and try again")
                .with_details(json!({ "status": now.status }))
        }
        _ => refused,
    }
}

/// Calls `processor` for a claimed change of `intent` and records the outcome.
async fn run(ctx: &Ctx<'_>, op: Operation, processor: &dyn crate::processor::Processor, intent: &IntentRecord) -> ApiResult<Recorded> {
    let answer = Answer::Call(operation::change(ctx.state, processor, &op, intent).await);
    Ok(operation::finish(ctx.state, op, answer).await?.1)
}

/// `POST /payments/capture`: all of an authorization, or part of it.
pub async fn capture(ctx: Ctx<'_>, req: CaptureRequest) -> ApiResult<Recorded> {
    let intent = load(&ctx, &req.payment_intent_id).await?;
    let not_authorized = refused(&intent, "captured", "authorized");
    if intent.status != IntentStatus::Authorized {
        return Err(operation::busy_or(&intent, not_authorized));
    }
    let authorized = intent.total_cents();
    let amount = req.amount_cents.map_or(authorized, MinorUnits::get);
    if amount <= 0 || amount > authorized {
        return Err(ApiError::validation("amountCents", format!("amountCents must be between 1 and the authorized {authorized}")));
    }
    if amount < intent.tip_cents {
        return Err(ApiError::validation("amountCents", format!("A capture must cover the tip of {}", intent.tip_cents)));
    }
    let processor = ctx.state.processor_of_payment(ctx.merchant, intent.made_with).await?;
    let op = claim_change(&ctx, &intent, Plan::Capture { amount_cents: amount }, Some(Hold::Capture), not_authorized).await?;
    run(&ctx, op, processor.as_ref(), &intent).await
}

/// `POST /payments/void`: releases an authorization, or voids a capture before settlement.
pub async fn void(ctx: Ctx<'_>, req: VoidRequest) -> ApiResult<Recorded> {
    let intent = load(&ctx, &req.payment_intent_id).await?;
    let not_voidable = refused(&intent, "voided", "authorized or captured (and not refunded)");
    if !matches!(intent.status, IntentStatus::Authorized | IntentStatus::Captured) {
        return Err(operation::busy_or(&intent, not_voidable));
    }
    let amount = if intent.status == IntentStatus::Captured { intent.captured_amount_cents } else { intent.total_cents() };
    let processor = ctx.state.processor_of_payment(ctx.merchant, intent.made_with).await?;
    let op = claim_change(&ctx, &intent, Plan::Void { amount_cents: amount }, Some(Hold::Void), not_voidable).await?;
    run(&ctx, op, processor.as_ref(), &intent).await
}

/// Cancels a payment: an authorization is released (a void); one not paid yet — waiting for a
/// card, for its 3-D Secure check, or declined — is closed, so that nobody can pay it any more. A
/// captured payment is refunded, not canceled.
pub async fn cancel(ctx: Ctx<'_>, id: PaymentIntentId) -> ApiResult<Recorded> {
    let intent = load(&ctx, &id).await?;
    match intent.status {
        IntentStatus::Authorized => return void(ctx, VoidRequest { payment_intent_id: id, client_request_id: None }).await,
        // A challenge the processor runs on its own page could still be passed there, and the
        // processor would take the money: it is not canceled here while it is open.
        IntentStatus::RequiresAction if intent.made_with.is_some_and(|m| m.kind != kassa::api::ProcessorKind::Sandbox) => {
            return Err(ApiError::invalid_state(
                "This payment's 3-D Secure check is open at the processor, which could still take the money; it can be canceled once the check ends",
            ))
        }
        IntentStatus::RequiresPaymentMethod | IntentStatus::RequiresAction | IntentStatus::Declined | IntentStatus::Error
            if intent.pending_operation.is_none() => {}
        _ => return Err(operation::busy_or(&intent, refused(&intent, "canceled", "unpaid or authorized"))),
    }
    let now = now_ms();
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    let before = intent.status;
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if !intents::cancel_unpaid(tx, &merchant, &id, now).await? {
                    return Err(ApiError::invalid_state("The payment changed while this request ran; fetch it and try again"));
                }
                let canceled = intents::find_in(tx, &merchant, &id).await?;
                crate::orders::ledger::intent_changed(tx, &merchant, Some((before, canceled.refunded_amount_cents)), &canceled, now)
                    .await?;
                let response = Recorded::ok(&Data { data: canceled.to_api() });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// `POST /payments/refund`: partial and repeated refunds, never past the captured amount (refunds
/// still running count).
pub async fn refund(ctx: Ctx<'_>, req: RefundRequest) -> ApiResult<Recorded> {
    check_text("reason", req.reason.as_ref())?;
    let intent = load(&ctx, &req.payment_intent_id).await?;
    let not_refundable = refused(&intent, "refunded", "captured or partially refunded");
    if !matches!(intent.status, IntentStatus::Captured | IntentStatus::PartiallyRefunded) {
        return Err(operation::busy_or(&intent, not_refundable));
    }
    let left = intent.captured_amount_cents - intent.refunded_amount_cents - intent.refund_reserved_cents;
    let amount = req.amount_cents.map_or(left, MinorUnits::get);
    check_amount("amountCents", amount)?;
    let exceeds = |left: i64| {
        ApiError::invalid_state(format!("A refund of {amount} exceeds the {left} that is left to refund of this payment"))
            .with_details(json!({ "refundableCents": left }))
    };
    if amount > left {
        return Err(exceeds(left));
    }
    let processor = ctx.state.processor_of_payment(ctx.merchant, intent.made_with).await?;
    let plan = Plan::Refund { amount_cents: amount, reason: req.reason.clone() };
    let op = match claim_change(&ctx, &intent, plan, None, exceeds(left)).await {
        Err(e) if e.code == kassa::ErrorCode::InvalidState => {
            // Another refund took what was left first: say how much is left now.
            let now = load(&ctx, &intent.id).await?;
            let left = now.captured_amount_cents - now.refunded_amount_cents - now.refund_reserved_cents;
            return Err(if now.pending_operation.is_some() || amount <= left { e } else { exceeds(left) });
        }
        other => other?,
    };
    run(&ctx, op, processor.as_ref(), &intent).await
}

/// `POST /payments/{id}/tip`: sets the tip of an authorized or fully captured, unrefunded,
/// unsettled payment. A tip is at most the amount.
pub async fn adjust_tip(ctx: Ctx<'_>, id: PaymentIntentId, req: TipRequest) -> ApiResult<Recorded> {
    let intent = load(&ctx, &id).await?;
    let tip = req.tip_cents.get();
    if !(0..=intent.amount_cents).contains(&tip) {
        return Err(ApiError::validation("tipCents", format!("tipCents must be between zero and the amount, {}", intent.amount_cents)));
    }
    let not_tippable = refused(&intent, "given a tip", "authorized or fully captured (and not refunded)");
    let fully_captured = intent.status == IntentStatus::Captured
        && intent.captured_amount_cents == intent.total_cents()
        && intent.refunded_amount_cents == 0;
    if !(intent.status == IntentStatus::Authorized || fully_captured) {
        return Err(operation::busy_or(&intent, not_tippable));
    }
    let processor = ctx.state.processor_of_payment(ctx.merchant, intent.made_with).await?;
    let op = claim_change(&ctx, &intent, Plan::Tip { tip_cents: tip }, Some(Hold::Tip { tip: intent.tip_cents }), not_tippable).await?;
    run(&ctx, op, processor.as_ref(), &intent).await
}

/// `POST /payments/failed/{id}/resolve`: closes a declined or failed payment by hand.
pub async fn resolve(ctx: Ctx<'_>, id: PaymentIntentId, req: ResolveRequest) -> ApiResult<Recorded> {
    check_text("reason", req.reason.as_ref())?;
    check_text("otherMeansType", req.other_means_type.as_ref())?;
    if req.other_means_type.is_some() && !req.paid_by_other_means {
        return Err(ApiError::validation("otherMeansType", "otherMeansType goes with paidByOtherMeans: true"));
    }
    let intent = load(&ctx, &id).await?;
    if !matches!(intent.status, IntentStatus::Declined | IntentStatus::Error) {
        return Err(refused(&intent, "resolved", "declined or error"));
    }
    let now = now_ms();
    let other_means = req.paid_by_other_means.then(|| req.other_means_type.clone().unwrap_or_else(|| "other".into()));
    let resolution = Resolution {
        resolution: req.resolution,
        reason: req.reason,
        paid_by_other_means: req.paid_by_other_means,
        other_means_type: req.other_means_type,
        resolved_at: format_ms(now),
    };
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if !intents::mark_resolved(tx, &merchant, &id, &resolution, now).await? {
                    return Err(ApiError::invalid_state("The payment changed while this request ran; fetch it and try again"));
                }
                let updated = intents::find_in(tx, &merchant, &id).await?;
                if let Some(method) = &other_means {
                    crate::orders::ledger::paid_by_other_means(tx, &merchant, &updated, method, now).await?;
                }
                let response = Recorded::ok(&Data { data: updated.to_api() });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}
