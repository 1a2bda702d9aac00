//! Making payments: tokens, server-side charges, intents the browser confirms, and retries.

use kassa::api::{
    CaptureMethod, ChargeRequest, ConfirmIntentRequest, CreateIntentRequest, CreateTokenRequest, Data, IntentStatus, RetryRequest,
};
use kassa::id::{intent_of_client_secret, CustomerId, OrderId, PaymentIntentId, TokenId};
use kassa::Currency;
use kassa::MinorUnits;
use serde_json::{json, Map, Value};

use super::checks::{check_amount, check_line_items, check_metadata, check_text};
use super::context::*;
use super::operation::{self, Answer, Operation, Plan};
use super::outcome::OnFailure;
use super::sources::{resolve_source, spend_token, tokenize_card, Source};
use crate::clock::now_ms;
use crate::idempotency::Recorded;
use crate::store::orders;

/// `POST /payment-methods`.
pub async fn create_token(ctx: Ctx<'_>, req: CreateTokenRequest) -> ApiResult<Recorded> {
    let (processor_token, card) = tokenize_card(&ctx, &req.card).await?;
    let now = now_ms();
    let token = StoredToken { id: ids::new::<TokenId>(), processor_token, card, used: false, created_at: now };
    let response = Recorded::created(&Data { data: token.to_api() });
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

/// What a new intent is for.
struct NewIntent {
    amount_cents: i64,
    tip_cents: i64,
    currency: Currency,
    capture_method: CaptureMethod,
    order_id: Option<OrderId>,
    reference: Option<String>,
    customer_id: Option<String>,
    location_id: Option<String>,
    terminal_id: Option<String>,
    line_items: Vec<kassa::api::LineItem>,
    metadata: Map<String, Value>,
}

fn new_record(spec: NewIntent, now: i64) -> IntentRecord {
    IntentRecord {
        id: ids::new::<PaymentIntentId>(),
        status: IntentStatus::RequiresPaymentMethod,
        amount_cents: spec.amount_cents,
        tip_cents: spec.tip_cents,
        captured_amount_cents: 0,
        refunded_amount_cents: 0,
        currency: spec.currency,
        capture_method: spec.capture_method,
        payment_method_type: None,
        card_brand: None,
        card_last4: None,
        card_fingerprint: None,
        card_exp_month: None,
        card_exp_year: None,
        processor_token: None,
        auth_code: None,
        avs_response: None,
        cvv_response: None,
        provider_reference: None,
        order_id: spec.order_id,
        reference: spec.reference,
        customer_id: spec.customer_id,
        location_id: spec.location_id,
        terminal_id: spec.terminal_id,
        line_items: spec.line_items,
        metadata: spec.metadata,
        next_action: None,
        last_error: None,
        created_at: now,
        updated_at: now,
        client_secret_hash: None,
        three_ds_session_hash: None,
        opener_origin: None,
        return_url: None,
        save_card: false,
        resolution: None,
        pending_operation: None,
        refund_reserved_cents: 0,
        failed_attempts: 0,
        frame_ancestors: None,
        made_with: None,
        payment_method_id: None,
    }
}

/// The origins the confirming page says it is framed in: each `http(s)://host[:port]`, at most 3.
fn check_frame_ancestors(origins: &[String]) -> ApiResult<Option<String>> {
    let invalid = || ApiError::validation("frameAncestors", "frameAncestors lists at most 3 origins such as https://shop.example");
    if origins.len() > 3 {
        return Err(invalid());
    }
    for origin in origins {
        let uri: axum::http::Uri = origin.parse().map_err(|_| invalid())?;
        let bare = uri.path_and_query().is_none_or(|p| p.as_str() == "/") && !origin.ends_with('/');
        let ok = matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.authority().is_some_and(|a| !a.as_str().contains('@'))
            && bare
            && origin.len() <= 200;
        if !ok {
            return Err(invalid());
        }
    }
    Ok((!origins.is_empty()).then(|| origins.join(" ")))
}

/// An `orderId` links the payment to one of this merchant's orders: that takes `orders.manage`,
/// and the payment must be in the order's currency. (The shop's own order number goes in
/// `reference`, which links nothing.)
async fn check_order_link(ctx: &Ctx<'_>, order_id: Option<&OrderId>, currency: Currency) -> ApiResult<()> {
    let Some(id) = order_id else { return Ok(()) };
    ctx.require(kassa::api::Permission::OrdersManage)?;
    let mut conn = ctx.state.store.reader().acquire().await?;
    let order = orders::find(&mut conn, ctx.merchant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("order").with_details(json!({ "field": "orderId" })))?;
    if order.currency != currency {
        return Err(ApiError::validation("currency", format!("The order is in {}; a payment for it must be too", order.currency.code())));
    }
    Ok(())
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
        Some(tip) if !(0..=MAX_AMOUNT_CENTS).contains(&tip.get()) => {
            return Err(ApiError::validation("tipCents", "tipCents must be zero or a positive whole number"))
        }
        _ => {}
    }
    for (field, value) in [
        ("reference", &req.reference),
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
    check_line_items(&req.line_items)?;
    check_metadata(&req.metadata)
}

/// `POST /payments/authorize` (`capture` false) and `POST /payments/sale` (`capture` true).
pub async fn charge(ctx: Ctx<'_>, req: ChargeRequest, capture: bool) -> ApiResult<Recorded> {
    check_charge(&req, capture)?;
    check_order_link(&ctx, req.order_id.as_ref(), req.currency).await?;
    let source = resolve_source(&ctx, req.card.as_ref(), req.token.as_ref(), req.payment_method_id.as_ref())
        .await?
        .ok_or_else(|| ApiError::validation("card", "Provide exactly one of card, token or paymentMethodId"))?;
    let spec = NewIntent {
        amount_cents: req.amount_cents.get(),
        tip_cents: req.tip_cents.map_or(0, MinorUnits::get),
        currency: req.currency,
        capture_method: if capture { CaptureMethod::Automatic } else { CaptureMethod::Manual },
        order_id: req.order_id,
        reference: req.reference,
        customer_id: req.customer_id,
        location_id: req.location_id,
        terminal_id: req.terminal_id,
        line_items: req.line_items,
        metadata: req.metadata,
    };
    pay_new(&ctx, new_record(spec, now_ms()), source, None).await
}

/// Claims a new intent paid with `source` (and, for a retry, its failed original), authorizes
/// it, and records the outcome.
async fn pay_new(ctx: &Ctx<'_>, mut intent: IntentRecord, source: Source, retry_of: Option<PaymentIntentId>) -> ApiResult<Recorded> {
    if intent.total_cents() > MAX_AMOUNT_CENTS || intent.tip_cents > intent.amount_cents {
        return Err(ApiError::validation("tipCents", "tipCents must be at most amountCents, and both at most the largest amount"));
    }
    source.describe(&mut intent);
    let plan = Plan::Authorize {
        capture: intent.capture_method == CaptureMethod::Automatic,
        on_failure: OnFailure::Final,
        created: true,
        public_base: ctx.public_base.to_owned(),
        retry_of: retry_of.clone(),
        publishable: false,
        in_session: false,
    };
    let op = Operation::new(ctx, &intent.id, plan);
    intent.status = IntentStatus::Processing;
    intent.pending_operation = Some(op.id.clone());
    // The payment is made with the merchant's processor of now, and stays with it.
    intent.made_with = Some(ctx.state.current_processor(ctx.merchant).await?.0);
    let (merchant, spent_token, claimed, op_id) = (ctx.merchant.clone(), source.spent_token(), intent.clone(), op.id.clone());
    operation::claim(ctx, &op, move |tx| {
        Box::pin(async move {
            spend_token(tx, &merchant, spent_token.as_ref(), claimed.created_at).await?;
            if let Some(original) = &retry_of {
                if !intents::claim_hold(tx, &merchant, original, intents::Hold::Retry, &op_id).await? {
                    let now = intents::find_in(tx, &merchant, original).await?;
                    return Err(operation::busy_or(&now, refused(&now, "retried", "declined or error")));
                }
            }
            intents::insert(tx, &merchant, &claimed).await?;
            Ok(())
        })
    })
    .await?;
    let answer = Answer::Call(operation::authorize(ctx.state, &op, &intent, false).await);
    Ok(operation::finish(ctx.state, op, answer).await?.1)
}

/// `POST /payments/intents`: an intent for the browser to confirm, with its client secret.
pub async fn create_intent(ctx: Ctx<'_>, req: CreateIntentRequest) -> ApiResult<Recorded> {
    check_amount("amountCents", req.amount_cents)?;
    check_text("reference", req.reference.as_ref())?;
    check_text("locationId", req.location_id.as_ref())?;
    check_order_link(&ctx, req.order_id.as_ref(), req.currency).await?;
    check_line_items(&req.line_items)?;
    check_metadata(&req.metadata)?;
    if let Some(customer) = &req.customer_id {
        if customers::find(&ctx.state.store, ctx.merchant, customer).await?.is_none() {
            return Err(ApiError::not_found("customer").with_details(json!({ "field": "customerId" })));
        }
    }
    let now = now_ms();
    let mut intent = new_record(
        NewIntent {
            amount_cents: req.amount_cents.get(),
            tip_cents: 0,
            currency: req.currency,
            capture_method: req.capture_method,
            order_id: req.order_id,
            reference: req.reference,
            customer_id: req.customer_id.map(|c| c.to_string()),
            location_id: req.location_id,
            terminal_id: None,
            line_items: req.line_items,
            metadata: req.metadata,
        },
        now,
    );
    let client_secret = format!("{}_secret_{}", intent.id, ids::secret(""));
    intent.client_secret_hash = Some(hash_secret(&client_secret));
    let mut shown = intent.to_api();
    shown.client_secret = Some(client_secret);
    let response = Recorded::created(&Data { data: shown });
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                intents::insert(tx, &merchant, &intent).await?;
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// The intent a publishable key may see: it must hold that intent's client secret. Anything
/// else is a 404, so a guess learns nothing.
pub async fn intent_for_client(ctx: &Ctx<'_>, id: &PaymentIntentId, client_secret: Option<&str>) -> ApiResult<IntentRecord> {
    let secret = client_secret.ok_or_else(|| ApiError::not_found("payment intent"))?;
    if intent_of_client_secret(secret).as_ref() != Some(id) {
        return Err(ApiError::not_found("payment intent"));
    }
    let intent = load(ctx, id).await?;
    if !secret_matches(secret, intent.client_secret_hash.as_deref()) {
        return Err(ApiError::not_found("payment intent"));
    }
    Ok(intent)
}

/// Where the 3-D Secure page may send the cardholder back to: an http(s) address without
/// credentials, and, for a browser's request, on the host of the page that confirmed (never off
/// to another site: no open redirect).
fn check_return_url(url: Option<&String>, origin: Option<&str>) -> ApiResult<()> {
    let Some(url) = url else { return Ok(()) };
    let invalid = || {
        ApiError::validation(
            "returnUrl",
            "returnUrl must be an http or https address of at most 2048 characters, on the confirming page's site",
        )
    };
    if url.len() > 2048 || url.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
        return Err(invalid());
    }
    let uri: axum::http::Uri = url.parse().map_err(|_| invalid())?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else { return Err(invalid()) };
    if !matches!(scheme, "http" | "https") || authority.as_str().contains('@') {
        return Err(invalid());
    }
    let host_of = |origin: &str| origin.parse::<axum::http::Uri>().ok().and_then(|o| o.host().map(str::to_ascii_lowercase));
    match origin {
        Some(origin) if host_of(origin).as_deref() != Some(authority.host().to_ascii_lowercase().as_str()) => Err(invalid()),
        _ => Ok(()),
    }
}

/// `POST /payments/intents/{id}/confirm`. `publishable` callers must send the client secret;
/// `origin` is the confirming page's origin, the one the 3-D Secure page will answer.
///
/// With a publishable key, paying with the customer's saved card or saving the card needs that
/// customer's live session (`customer_session`, its secret), as listing their cards does: the
/// client secret alone shows only this payment.
pub async fn confirm(
    ctx: Ctx<'_>,
    id: PaymentIntentId,
    req: ConfirmIntentRequest,
    publishable: bool,
    origin: Option<String>,
    customer_session: Option<&str>,
) -> ApiResult<Recorded> {
    let mut intent = if publishable { intent_for_client(&ctx, &id, req.client_secret.as_deref()).await? } else { load(&ctx, &id).await? };
    if intent.status != IntentStatus::RequiresPaymentMethod {
        return Err(operation::busy_or(&intent, refused(&intent, "confirmed", "requires_payment_method")));
    }
    check_return_url(req.return_url.as_ref(), origin.as_deref())?;
    let frame_ancestors = check_frame_ancestors(&req.frame_ancestors)?;
    let customer: Option<CustomerId> = intent.customer_id.as_deref().and_then(|c| c.parse().ok());
    if req.save_card && customer.is_none() {
        return Err(ApiError::validation("saveCard", "saveCard needs an intent created with a customerId"));
    }
    let source = resolve_source(&ctx, req.card.as_ref(), req.token.as_ref(), req.payment_method_id.as_ref())
        .await?
        .ok_or_else(|| ApiError::validation("card", "Provide exactly one of card, token or paymentMethodId"))?;
    if let Source::Saved(saved) = &source {
        // A saved card pays only for its own customer.
        if customer.as_ref() != Some(&saved.method.customer_id) {
            return Err(ApiError::not_found("payment method").with_details(json!({ "field": "paymentMethodId" })));
        }
    }
    let saved = matches!(source, Source::Saved(_));
    if publishable && (saved || req.save_card) {
        let field = if saved { "paymentMethodId" } else { "saveCard" };
        let Some(secret) = customer_session else {
            return Err(ApiError::forbidden("A publishable key needs the customer's session secret in the Kassa-Customer-Session header to pay with a saved card or save one")
                .with_details(json!({ "field": field })));
        };
        let holder = customers::session_customer(&ctx.state.store, ctx.merchant, &hash_secret(secret), now_ms()).await?;
        if holder.is_none() || holder != customer {
            let missing = if saved { "payment method" } else { "customer" };
            return Err(ApiError::not_found(missing).with_details(json!({ "field": field })));
        }
    }
    if let Some(tip) = req.tip_cents.map(MinorUnits::get) {
        if !(0..=intent.amount_cents).contains(&tip) {
            return Err(ApiError::validation("tipCents", "tipCents must be between zero and the amount"));
        }
        intent.tip_cents = tip;
    }
    let read_amount = intent.amount_cents;
    source.describe(&mut intent);
    intent.save_card = req.save_card;
    intent.return_url = req.return_url;
    intent.opener_origin = origin;
    intent.frame_ancestors = frame_ancestors;
    intent.updated_at = now_ms();
    // This attempt goes to the merchant's processor of now; the payment stays with it.
    intent.made_with = Some(ctx.state.current_processor(ctx.merchant).await?.0);
    let plan = Plan::Authorize {
        capture: intent.capture_method == CaptureMethod::Automatic,
        on_failure: OnFailure::TryAgain,
        created: false,
        public_base: ctx.public_base.to_owned(),
        retry_of: None,
        publishable: ctx.publishable(),
        in_session: publishable && (saved || intent.save_card),
    };
    let op = Operation::new(&ctx, &intent.id, plan);
    let (merchant, spent_token, claimed, op_id) = (ctx.merchant.clone(), source.spent_token(), intent.clone(), op.id.clone());
    operation::claim(&ctx, &op, move |tx| {
        Box::pin(async move {
            spend_token(tx, &merchant, spent_token.as_ref(), claimed.updated_at).await?;
            if !intents::claim_confirm(tx, &merchant, &claimed, read_amount, &op_id, operation::MAX_FAILED_ATTEMPTS).await? {
                let now = intents::find_in(tx, &merchant, &claimed.id).await?;
                return Err(operation::busy_or(
                    &now,
                    ApiError::invalid_state("The payment changed while this request ran; fetch it and try again"),
                ));
            }
            Ok(())
        })
    })
    .await?;
    let answer = Answer::Call(operation::authorize(ctx.state, &op, &intent, false).await);
    Ok(operation::finish(ctx.state, op, answer).await?.1)
}

/// `POST /payments/intents/{id}`: changes the amount, line items or metadata of an intent that
/// is not paid yet.
pub async fn update_intent(ctx: Ctx<'_>, id: PaymentIntentId, req: kassa::api::UpdateIntentRequest) -> ApiResult<Recorded> {
    if let Some(amount) = req.amount_cents {
        check_amount("amountCents", amount)?;
    }
    if let Some(items) = &req.line_items {
        check_line_items(items)?;
    }
    if let Some(metadata) = &req.metadata {
        check_metadata(metadata)?;
    }
    let reference = req.reference.map(|r| Some(r).filter(|r| !r.is_empty()));
    check_text("reference", reference.as_ref().and_then(Option::as_ref))?;
    let mut intent = load(&ctx, &id).await?;
    if intent.status != IntentStatus::RequiresPaymentMethod {
        return Err(refused(&intent, "changed", "requires_payment_method"));
    }
    intent.reference = reference.unwrap_or(intent.reference);
    intent.amount_cents = req.amount_cents.map_or(intent.amount_cents, MinorUnits::get);
    intent.line_items = req.line_items.unwrap_or(intent.line_items);
    intent.metadata = req.metadata.unwrap_or(intent.metadata);
    intent.updated_at = now_ms();
    let response = Recorded::ok(&Data { data: intent.to_api() });
    let (merchant, key, now) = (ctx.merchant.clone(), ctx.key.cloned(), intent.updated_at);
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if !intents::update_terms(tx, &merchant, &intent).await? {
                    return Err(ApiError::invalid_state("The payment changed while this request ran; fetch it and try again"));
                }
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// `POST /payments/failed/{id}/retry`: a new intent for the same payment, with the original card
/// or another one.
pub async fn retry(ctx: Ctx<'_>, id: PaymentIntentId, req: RetryRequest) -> ApiResult<Recorded> {
    let original = load(&ctx, &id).await?;
    if !matches!(original.status, IntentStatus::Declined | IntentStatus::Error) {
        return Err(refused(&original, "retried", "declined or error"));
    }
    if original.pending_operation.is_some() {
        return Err(operation::busy_or(&original, refused(&original, "retried", "declined or error")));
    }
    if req.payment_method_type.as_deref().is_some_and(|t| t != "card") {
        return Err(ApiError::validation("paymentMethodType", "paymentMethodType must be `card`"));
    }
    let source = match resolve_source(&ctx, req.card.as_ref(), req.token.as_ref(), req.payment_method_id.as_ref()).await? {
        Some(source) => source,
        None if original.processor_token.is_some() => Source::Original(Box::new(original.clone())),
        None => return Err(ApiError::invalid_state("The original payment has no card to retry; send a card, token or paymentMethodId")),
    };
    let mut metadata = original.metadata.clone();
    metadata.insert("retryOf".into(), json!(original.id));
    metadata.insert("originalIntentId".into(), json!(original.metadata.get("originalIntentId").cloned().unwrap_or(json!(original.id))));
    metadata.insert("retryAttempt".into(), json!(true));
    let spec = NewIntent {
        amount_cents: original.amount_cents,
        tip_cents: original.tip_cents,
        currency: original.currency,
        capture_method: original.capture_method,
        order_id: original.order_id.clone(),
        reference: original.reference.clone(),
        customer_id: original.customer_id.clone(),
        location_id: original.location_id.clone(),
        terminal_id: original.terminal_id.clone(),
        line_items: original.line_items.clone(),
        metadata,
    };
    pay_new(&ctx, new_record(spec, now_ms()), source, Some(original.id.clone())).await
}
