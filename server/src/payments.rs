//! The payment flows: tokenize, authorize, sale, capture, void, refund and tip. Each calls the
//! processor first and then records the outcome, its processor call and its idempotent response
//! in one transaction. Status changes are conditional updates, so of two racing changes one wins.

use axum::http::StatusCode;
use kassa::api::{
    CaptureMethod, CaptureRequest, CardInput, CardSummary, ChargeRequest, CreateTokenRequest, Data,
    IntentStatus, LastError, NextAction, RefundRequest, TipRequest, TransactionStatus, TransactionType,
    VoidRequest,
};
use kassa::card::Expiry;
use kassa::id::{MerchantId, PaymentIntentId, TokenId};
use kassa::ErrorCode;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::clock::{now_ms, year_month};
use crate::http::error::{ApiError, ApiResult};
use crate::http::idempotency::{IdempotencyKey, Recorded};
use crate::ids;
use crate::processor::{AuthorizeCall, CardData, Outcome, ProcessorError, Reply};
use crate::state::AppState;
use crate::store::intents::{self, IntentRecord, NewTransaction};
use crate::store::tokens::{self, StoredToken};
use crate::store::Tx;
use futures_util::future::BoxFuture;

/// The largest amount Kassa accepts, in minor units (a hundred million major units at exponent 2).
pub const MAX_AMOUNT_CENTS: i64 = 10_000_000_000;
const MAX_TEXT: usize = 255;
const MAX_METADATA_KEYS: usize = 50;

/// One request's view: who it is for and the idempotency key it runs under.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub merchant: &'a MerchantId,
    pub key: Option<&'a IdempotencyKey>,
}

impl Ctx<'_> {
    /// The key for a processor call: derived from the client's key, so the SDK's retry of a
    /// request repeats the processor call under the same key and cannot charge twice.
    fn processor_key(&self, operation: &str) -> String {
        match self.key {
            Some(k) => hex::encode(Sha256::digest(
                format!("{}\u{0}{}\u{0}{operation}", self.merchant, k.key).as_bytes(),
            )),
            None => ids::secret(""),
        }
    }
}

fn check_amount(field: &str, amount: i64) -> ApiResult<()> {
    if amount <= 0 || amount > MAX_AMOUNT_CENTS {
        return Err(ApiError::validation(
            field,
            format!("{field} must be a positive whole number of minor units, at most {MAX_AMOUNT_CENTS}"),
        ));
    }
    Ok(())
}

fn check_text(field: &str, value: Option<&String>) -> ApiResult<()> {
    match value {
        Some(v) if v.is_empty() || v.len() > MAX_TEXT => {
            Err(ApiError::validation(field, format!("{field} must be 1 to {MAX_TEXT} characters")))
        }
        _ => Ok(()),
    }
}

/// The checks a card's number (already Luhn- and length-checked by parsing) does not cover.
fn check_card(card: &CardInput) -> ApiResult<Expiry> {
    use kassa::card::CardError;
    let expiry = Expiry::new(card.exp_month, card.exp_year, year_month()).map_err(|e| match e {
        CardError::InvalidExpiryMonth => ApiError::validation("card.expMonth", format!("card.expMonth: {e}")),
        _ => ApiError::validation("card.expYear", format!("card.expYear: {e}")),
    })?;
    if let Some(cvc) = &card.cvc {
        cvc.check_for(card.number.brand())
            .map_err(|e| ApiError::validation("card.cvc", format!("card.cvc: {e}")))?;
    }
    check_text("card.name", card.name.as_ref())?;
    if card.postal_code.as_ref().is_some_and(|p| p.len() > 16) {
        return Err(ApiError::validation("card.postalCode", "card.postalCode must be at most 16 characters"));
    }
    Ok(expiry)
}

fn processor_failure(e: &ProcessorError) -> ApiError {
    match e {
        ProcessorError::Failed { text, .. } => {
            ApiError::new(ErrorCode::ProviderError, format!("The card processor failed: {text}"))
        }
        ProcessorError::Timeout => ApiError::new(
            ErrorCode::ProviderTimeout,
            "The card processor did not answer in time; the outcome is unknown until reconciled",
        ),
    }
}

/// Hands the card to the processor and returns its token and the card facts Kassa keeps.
async fn tokenize_card(ctx: &Ctx<'_>, card: &CardInput) -> ApiResult<(String, CardSummary)> {
    let expiry = check_card(card)?;
    let tokenized = ctx
        .state
        .processor
        .tokenize(&CardData {
            number: &card.number,
            cvc: card.cvc.as_ref(),
            expiry,
            postal_code: card.postal_code.as_deref(),
        })
        .await
        .map_err(|e| processor_failure(&e))?;
    let summary = CardSummary {
        brand: card.number.brand(),
        last4: card.number.last4().to_owned(),
        exp_month: expiry.month,
        exp_year: expiry.year,
        fingerprint: tokenized.fingerprint,
    };
    Ok((tokenized.processor_token, summary))
}

/// `POST /payment-methods`.
pub async fn create_token(ctx: Ctx<'_>, req: CreateTokenRequest) -> ApiResult<Recorded> {
    let (processor_token, card) = tokenize_card(&ctx, &req.card).await?;
    let now = now_ms();
    let token = StoredToken { id: ids::new::<TokenId>(), processor_token, card, used: false, created_at: now };
    let response = Recorded::json(StatusCode::CREATED, &Data { data: token.to_api() });
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                tokens::insert(tx, &merchant, &token).await?;
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// Where the money comes from.
enum Source {
    Card { processor_token: String, card: CardSummary },
    Token(StoredToken),
}

impl Source {
    fn processor_token(&self) -> &str {
        match self {
            Source::Card { processor_token, .. } => processor_token,
            Source::Token(token) => &token.processor_token,
        }
    }

    fn card(&self) -> &CardSummary {
        match self {
            Source::Card { card, .. } => card,
            Source::Token(token) => &token.card,
        }
    }
}

async fn resolve_source(ctx: &Ctx<'_>, req: &ChargeRequest) -> ApiResult<Source> {
    let given = [req.card.is_some(), req.token.is_some(), req.payment_method_id.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ApiError::validation("card", "Provide exactly one of card, token or paymentMethodId"));
    }
    if let Some(card) = &req.card {
        let (processor_token, card) = tokenize_card(ctx, card).await?;
        return Ok(Source::Card { processor_token, card });
    }
    if let Some(id) = &req.token {
        let token = tokens::find(&ctx.state.store, ctx.merchant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("card token").with_details(json!({ "field": "token" })))?;
        if token.used {
            return Err(ApiError::invalid_state("This card token was already used; tokenize the card again"));
        }
        return Ok(Source::Token(token));
    }
    Err(ApiError::not_found("payment method").with_details(json!({ "field": "paymentMethodId" })))
}

fn check_charge(req: &ChargeRequest, capture: bool) -> ApiResult<()> {
    check_amount("amountCents", req.amount_cents)?;
    match req.tip_cents {
        Some(_) if !capture => {
            return Err(ApiError::validation(
                "tipCents",
                "tipCents is taken by /payments/sale; add a tip to an authorization with POST /payments/{id}/tip",
            ))
        }
        Some(tip) if !(0..=MAX_AMOUNT_CENTS).contains(&tip) => {
            return Err(ApiError::validation("tipCents", "tipCents must be zero or a positive whole number"))
        }
        _ => {}
    }
    for (field, value) in [
        ("orderId", &req.order_id),
        ("customerId", &req.customer_id),
        ("locationId", &req.location_id),
        ("terminalId", &req.terminal_id),
        ("paymentMethodType", &req.payment_method_type),
    ] {
        check_text(field, value.as_ref())?;
    }
    if req.payment_method_type.as_deref().is_some_and(|t| t != "card") {
        return Err(ApiError::validation("paymentMethodType", "paymentMethodType must be `card`"));
    }
    for (i, item) in req.line_items.iter().enumerate() {
        if item.name.is_empty() || item.name.len() > MAX_TEXT {
            return Err(ApiError::validation(&format!("lineItems[{i}].name"), "a line item needs a name of 1 to 255 characters"));
        }
        if !(0..=MAX_AMOUNT_CENTS).contains(&item.unit_amount_cents) {
            return Err(ApiError::validation(&format!("lineItems[{i}].unitAmountCents"), "unitAmountCents must be zero or positive"));
        }
        if item.quantity == 0 {
            return Err(ApiError::validation(&format!("lineItems[{i}].quantity"), "quantity must be at least 1"));
        }
    }
    if req.metadata.len() > MAX_METADATA_KEYS || req.metadata.keys().any(|k| k.is_empty() || k.len() > 40) {
        return Err(ApiError::validation("metadata", "metadata holds at most 50 keys of 1 to 40 characters"));
    }
    Ok(())
}

fn decline_message(code: &str) -> &'static str {
    match code {
        "insufficient_funds" => "The card has insufficient funds",
        "expired_card" => "The card has expired",
        "incorrect_cvc" => "The card's security code is incorrect",
        "lost_card" | "stolen_card" => "The card was declined",
        _ => "The card was declined",
    }
}

/// `POST /payments/authorize` (`capture` false) and `POST /payments/sale` (`capture` true).
pub async fn charge(ctx: Ctx<'_>, req: ChargeRequest, capture: bool) -> ApiResult<Recorded> {
    check_charge(&req, capture)?;
    let source = resolve_source(&ctx, &req).await?;
    let tip = req.tip_cents.unwrap_or(0);
    let total = req.amount_cents + tip;
    let result = ctx
        .state
        .processor
        .authorize(&AuthorizeCall {
            processor_token: source.processor_token(),
            amount_cents: total,
            currency: req.currency,
            capture,
            idempotency_key: &ctx.processor_key("authorize"),
        })
        .await;

    let now = now_ms();
    let card = source.card();
    let mut intent = IntentRecord {
        id: ids::new::<PaymentIntentId>(),
        status: IntentStatus::Error,
        amount_cents: req.amount_cents,
        tip_cents: tip,
        captured_amount_cents: 0,
        refunded_amount_cents: 0,
        currency: req.currency,
        capture_method: if capture { CaptureMethod::Automatic } else { CaptureMethod::Manual },
        payment_method_type: Some("card".into()),
        card_brand: Some(card.brand),
        card_last4: Some(card.last4.clone()),
        card_fingerprint: Some(card.fingerprint.clone()),
        processor_token: Some(source.processor_token().to_owned()),
        auth_code: None,
        avs_response: None,
        cvv_response: None,
        provider_reference: None,
        order_id: req.order_id.clone(),
        customer_id: req.customer_id.clone(),
        location_id: req.location_id.clone(),
        terminal_id: req.terminal_id.clone(),
        line_items: req.line_items.clone(),
        metadata: req.metadata.clone(),
        next_action: None,
        last_error: None,
        created_at: now,
        updated_at: now,
    };
    // The processor calls to record, as (type, status, reply-or-error text).
    let mut history: Vec<(TransactionType, TransactionStatus, String, String)> = Vec::new();
    let response = match &result {
        Ok(reply) => {
            intent.provider_reference = Some(reply.reference.clone());
            intent.auth_code = reply.auth_code.clone();
            intent.avs_response = reply.avs_response.clone();
            intent.cvv_response = reply.cvv_response.clone();
            let code_text = (reply.response_code.clone(), reply.response_text.clone());
            match &reply.outcome {
                Outcome::Approved => {
                    history.push((TransactionType::Authorize, TransactionStatus::Approved, code_text.0.clone(), code_text.1.clone()));
                    if capture {
                        intent.status = IntentStatus::Captured;
                        intent.captured_amount_cents = total;
                        history.push((TransactionType::Capture, TransactionStatus::Approved, code_text.0, code_text.1));
                    } else {
                        intent.status = IntentStatus::Authorized;
                    }
                    None
                }
                Outcome::Declined { decline_code } => {
                    intent.status = IntentStatus::Declined;
                    let message = decline_message(decline_code);
                    intent.last_error = Some(LastError {
                        code: ErrorCode::CardDeclined,
                        decline_code: Some(decline_code.clone()),
                        message: message.into(),
                    });
                    history.push((TransactionType::Authorize, TransactionStatus::Declined, code_text.0, code_text.1));
                    Some(ApiError::new(ErrorCode::CardDeclined, message).with_details(json!({
                        "declineCode": decline_code,
                        "paymentIntentId": intent.id,
                    })))
                }
                Outcome::ChallengeRequired => {
                    intent.status = IntentStatus::RequiresAction;
                    intent.next_action = Some(NextAction {
                        kind: "three_ds_challenge".into(),
                        url: format!("/3ds/{}/challenge", intent.id),
                        challenge_window_size: "05".into(),
                    });
                    history.push((TransactionType::ThreeDs, TransactionStatus::Pending, code_text.0, code_text.1));
                    None
                }
            }
        }
        Err(e) => {
            let error = processor_failure(e);
            intent.last_error = Some(LastError { code: error.code, decline_code: None, message: error.message.clone() });
            let (code, text) = match e {
                ProcessorError::Failed { code, text } => (code.clone(), text.clone()),
                ProcessorError::Timeout => ("timeout".into(), "No answer from the processor".into()),
            };
            history.push((TransactionType::Authorize, TransactionStatus::Error, code, text));
            Some(error.with_details(json!({ "paymentIntentId": intent.id })))
        }
    };
    let response = match response {
        Some(error) => Recorded::error(&error),
        None => Recorded::json(StatusCode::CREATED, &Data { data: intent.to_api() }),
    };

    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    let spent_token = match &source {
        Source::Token(token) => Some(token.id.clone()),
        Source::Card { .. } => None,
    };
    let currency = req.currency;
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if let Some(token) = &spent_token {
                    if !tokens::consume(tx, &merchant, token, now).await? {
                        return Err(ApiError::invalid_state("This card token was already used; tokenize the card again"));
                    }
                }
                intents::insert(tx, &merchant, &intent).await?;
                for (kind, status, code, text) in &history {
                    let call = NewTransaction {
                        intent_id: &intent.id,
                        kind: *kind,
                        status: *status,
                        amount_cents: total,
                        currency,
                        provider_reference: intent.provider_reference.as_deref(),
                        response_code: code,
                        response_text: text,
                    };
                    intents::insert_transaction(tx, &merchant, &call, now).await?;
                }
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

async fn load(ctx: &Ctx<'_>, id: &PaymentIntentId) -> ApiResult<IntentRecord> {
    intents::find(&ctx.state.store, ctx.merchant, id).await?.ok_or_else(|| ApiError::not_found("payment intent"))
}

fn refused(intent: &IntentRecord, action: &str, allowed: &str) -> ApiError {
    ApiError::invalid_state(format!(
        "A payment that is {} cannot be {action}; only {allowed} payments can",
        intent.status.as_str()
    ))
    .with_details(json!({ "status": intent.status }))
}

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
    let (code, text, error) = match reply {
        Ok(reply) if reply.outcome == Outcome::Approved => {
            return ctx
                .state
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        if !apply(tx, now).await? {
                            return Err(ApiError::invalid_state(
                                "The payment changed while this request ran; fetch it and try again",
                            ));
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
        return Err(ApiError::validation(
            "amountCents",
            format!("amountCents must be between 1 and the authorized {authorized}"),
        ));
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
        return Err(ApiError::invalid_state(format!(
            "A refund of {amount} exceeds the {left} that is left to refund of this payment"
        ))
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

