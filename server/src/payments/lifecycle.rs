//! What happens to a payment after it is made: capture, void, refund, tip, and closing a failed
//! payment by hand.

use axum::http::StatusCode;
use futures_util::future::BoxFuture;
use kassa::api::{
    CaptureRequest, Data, IntentStatus, RefundRequest, ResolveRequest, Resolution, TipRequest,
    TransactionStatus, TransactionType, VoidRequest,
};
use kassa::id::PaymentIntentId;
use kassa::ErrorCode;
use serde_json::json;

use super::*;
use crate::clock::{format_ms, now_ms};
use crate::http::idempotency::Recorded;

/// Records one lifecycle step: the processor's reply, the status change (`apply`, which returns
/// false when another request changed the intent first) and the response, in one transaction.
/// A failed processor call is recorded too, and answered with its error.
async fn record_step<F>(
    ctx: &Ctx<'_>,
    intent: &IntentRecord,
    kind: TransactionType,
    amount: i64,
    reply: Result<Reply, ProcessorError>,
    apply: F,
) -> ApiResult<Recorded>
where
    F: for<'t> FnOnce(&'t mut Tx, i64) -> BoxFuture<'t, Result<bool, sqlx::Error>> + Send + 'static,
{
    let now = now_ms();
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    let (intent_id, currency, reference) = (intent.id.clone(), intent.currency, intent.provider_reference.clone());
    let before = (intent.status, intent.refunded_amount_cents);
    let (code, text, error) = match reply {
        Ok(reply) if reply.outcome == Outcome::Approved => {
            return ctx
                .state
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        if !apply(tx, now).await? {
                            return Err(ApiError::invalid_state("The payment changed while this request ran; fetch it and try again"));
                        }
                        let call = NewTransaction {
                            intent_id: &intent_id,
                            kind,
                            status: TransactionStatus::Approved,
                            amount_cents: amount,
                            currency,
                            provider_reference: Some(&reply.reference),
                            response_code: &reply.response_code,
                            response_text: &reply.response_text,
                        };
                        intents::insert_transaction(tx, &merchant, &call, now).await?;
                        let updated = intents::find_in(tx, &merchant, &intent_id).await?;
                        crate::orders::intent_changed(tx, &merchant, Some(before), &updated, now).await?;
                        let response = Recorded::json(StatusCode::OK, &Data { data: updated.to_api() });
                        response.save(tx, &merchant, key.as_ref(), now).await?;
                        Ok(response)
                    })
                })
                .await;
        }
        Ok(reply) => {
            let error = ApiError::new(ErrorCode::ProviderError, format!("The card processor refused: {}", reply.response_text));
            (reply.response_code, reply.response_text, error)
        }
        Err(e) => {
            let error = processor_failure(&e);
            match e {
                ProcessorError::Failed { code, text } => (code, text, error),
                ProcessorError::Timeout => ("timeout".into(), "No answer from the processor".into(), error),
            }
        }
    };
    let failed_id = intent_id.clone();
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                let call = NewTransaction {
                    intent_id: &failed_id,
                    kind,
                    status: TransactionStatus::Error,
                    amount_cents: amount,
                    currency,
                    provider_reference: reference.as_deref(),
                    response_code: &code,
                    response_text: &text,
                };
                intents::insert_transaction(tx, &merchant, &call, now).await?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Err(error.with_details(json!({ "paymentIntentId": intent_id })))
}

fn reference(intent: &IntentRecord) -> &str {
    intent.provider_reference.as_deref().unwrap_or_default()
}

/// `POST /payments/capture`: all of an authorization, or part of it.
pub async fn capture(ctx: Ctx<'_>, req: CaptureRequest) -> ApiResult<Recorded> {
    let intent = load(&ctx, &req.payment_intent_id).await?;
    if intent.status != IntentStatus::Authorized {
        return Err(refused(&intent, "captured", "authorized"));
    }
    let authorized = intent.total_cents();
    let amount = req.amount_cents.unwrap_or(authorized);
    if amount <= 0 || amount > authorized {
        return Err(ApiError::validation("amountCents", format!("amountCents must be between 1 and the authorized {authorized}")));
    }
    let reply = ctx.state.processor.capture(reference(&intent), amount, &ctx.processor_key("capture")).await;
    let (merchant, id) = (ctx.merchant.clone(), intent.id.clone());
    record_step(&ctx, &intent, TransactionType::Capture, amount, reply, move |tx, now| {
        Box::pin(async move { intents::mark_captured(tx, &merchant, &id, amount, now).await })
    })
    .await
}

/// `POST /payments/void`: releases an authorization, or voids a capture before settlement.
pub async fn void(ctx: Ctx<'_>, req: VoidRequest) -> ApiResult<Recorded> {
    let intent = load(&ctx, &req.payment_intent_id).await?;
    if !matches!(intent.status, IntentStatus::Authorized | IntentStatus::Captured) {
        return Err(refused(&intent, "voided", "authorized or captured (and not refunded)"));
    }
    let amount = if intent.status == IntentStatus::Captured { intent.captured_amount_cents } else { intent.total_cents() };
    let reply = ctx.state.processor.void(reference(&intent), &ctx.processor_key("void")).await;
    let (merchant, id, from) = (ctx.merchant.clone(), intent.id.clone(), intent.status);
    record_step(&ctx, &intent, TransactionType::Void, amount, reply, move |tx, now| {
        Box::pin(async move { intents::mark_voided(tx, &merchant, &id, from, now).await })
    })
    .await
}

/// `POST /payments/refund`: partial and repeated refunds, never past what was captured.
pub async fn refund(ctx: Ctx<'_>, req: RefundRequest) -> ApiResult<Recorded> {
    check_text("reason", req.reason.as_ref())?;
    let intent = load(&ctx, &req.payment_intent_id).await?;
    if !matches!(intent.status, IntentStatus::Captured | IntentStatus::PartiallyRefunded) {
        return Err(refused(&intent, "refunded", "captured or partially refunded"));
    }
    let left = intent.captured_amount_cents - intent.refunded_amount_cents;
    let amount = req.amount_cents.unwrap_or(left);
    check_amount("amountCents", amount)?;
    if amount > left {
        return Err(ApiError::invalid_state(format!("A refund of {amount} exceeds the {left} that is left to refund of this payment"))
            .with_details(json!({ "refundableCents": left })));
    }
    let reply = ctx.state.processor.refund(reference(&intent), amount, &ctx.processor_key("refund")).await;
    let (merchant, id) = (ctx.merchant.clone(), intent.id.clone());
    record_step(&ctx, &intent, TransactionType::Refund, amount, reply, move |tx, now| {
        Box::pin(async move { intents::add_refund(tx, &merchant, &id, amount, now).await })
    })
    .await
}

/// `POST /payments/{id}/tip`: sets the tip of an authorized or captured, unsettled payment.
pub async fn adjust_tip(ctx: Ctx<'_>, id: PaymentIntentId, req: TipRequest) -> ApiResult<Recorded> {
    if !(0..=MAX_AMOUNT_CENTS).contains(&req.tip_cents) {
        return Err(ApiError::validation("tipCents", "tipCents must be zero or a positive whole number"));
    }
    let intent = load(&ctx, &id).await?;
    if !matches!(intent.status, IntentStatus::Authorized | IntentStatus::Captured) {
        return Err(refused(&intent, "given a tip", "authorized or captured (and not refunded)"));
    }
    let tip = req.tip_cents;
    let reply = ctx.state.processor.adjust_tip(reference(&intent), tip, &ctx.processor_key("tip")).await;
    let merchant = ctx.merchant.clone();
    let read = intent.clone();
    record_step(&ctx, &intent, TransactionType::TipAdjust, tip, reply, move |tx, now| {
        Box::pin(async move { intents::set_tip(tx, &merchant, &read, tip, now).await })
    })
    .await
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
                    crate::orders::paid_by_other_means(tx, &merchant, &updated, method, now).await?;
                }
                let response = Recorded::json(StatusCode::OK, &Data { data: updated.to_api() });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}
