//! Payment routes: they check the caller's permission, parse the body and hand over to
//! [`crate::payments`].

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kassa::api::{
    CaptureRequest, ChargeRequest, ConfirmIntentRequest, CreateIntentRequest, CreateTokenRequest, Data, FailedFilters, IntentWithHistory,
    KeyKind, Page, PaymentIntent, Permission, RefundRequest, ResolveRequest, RetryRequest, TipRequest, TransactionFilters, VoidRequest,
};
use kassa::id::PaymentIntentId;
use serde::Deserialize;

use super::context::RequestCtx;
use super::error::ApiResult;
use super::extract::{ApiQuery, JsonBody, PathId};
use super::idempotency::Recorded;
use crate::payments;
use crate::state::AppState;

/// Tokenize a card into a single-use `tok_…`.
#[utoipa::path(post, path = "/payment-methods", tag = "payment methods",
    request_body = CreateTokenRequest,
    responses((status = 201, description = "The token", body = crate::http::openapi::TokenResponse),
              (status = 400, body = kassa::ErrorEnvelope), (status = 401, body = kassa::ErrorEnvelope),
              (status = 403, body = kassa::ErrorEnvelope), (status = 429, body = kassa::ErrorEnvelope),
              (status = 502, body = kassa::ErrorEnvelope), (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn create_payment_method(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    if !matches!(r.caller.kind, KeyKind::Publishable | KeyKind::Secret) && r.caller.require(Permission::TransactionsCreate).is_err() {
        r.caller.require(Permission::MethodsManage)?;
    }
    r.limit_card_attempts(&state).await?;
    let req: CreateTokenRequest = body.parse()?;
    payments::create_token(r.ctx(&state), req).await
}

/// Hold funds on a card.
#[utoipa::path(post, path = "/payments/authorize", tag = "payments",
    request_body = ChargeRequest,
    responses((status = 201, description = "Authorized (or waiting for 3-D Secure)", body = crate::http::openapi::IntentResponse),
              (status = 402, description = "Declined", body = kassa::ErrorEnvelope),
              (status = 400, body = kassa::ErrorEnvelope), (status = 404, description = "The token, saved card or order named does not exist", body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope),
              (status = 502, body = kassa::ErrorEnvelope), (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn authorize(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::TransactionsCreate)?;
    let req: ChargeRequest = body.parse()?;
    payments::charge(r.ctx(&state), req, false).await
}

/// Authorize and capture in one step, with an optional tip.
#[utoipa::path(post, path = "/payments/sale", tag = "payments",
    request_body = ChargeRequest,
    responses((status = 201, description = "Captured (or waiting for 3-D Secure)", body = crate::http::openapi::IntentResponse),
              (status = 402, description = "Declined", body = kassa::ErrorEnvelope),
              (status = 400, body = kassa::ErrorEnvelope), (status = 404, description = "The token, saved card or order named does not exist", body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope),
              (status = 502, body = kassa::ErrorEnvelope), (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn sale(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::TransactionsCreate)?;
    let req: ChargeRequest = body.parse()?;
    payments::charge(r.ctx(&state), req, true).await
}

/// Capture an authorization, fully or in part.
#[utoipa::path(post, path = "/payments/capture", tag = "payments",
    request_body = CaptureRequest,
    responses((status = 200, body = crate::http::openapi::IntentResponse),
              (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope),
              (status = 502, body = kassa::ErrorEnvelope), (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn capture(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::TransactionsCreate)?;
    let req: CaptureRequest = body.parse()?;
    payments::capture(r.ctx(&state), req).await
}

/// Release an authorization, or void a capture before settlement.
#[utoipa::path(post, path = "/payments/void", tag = "payments",
    request_body = VoidRequest,
    responses((status = 200, body = crate::http::openapi::IntentResponse),
              (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope),
              (status = 502, body = kassa::ErrorEnvelope), (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn void(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::TransactionsVoid)?;
    let req: VoidRequest = body.parse()?;
    payments::void(r.ctx(&state), req).await
}

/// Refund some or all of what was captured.
#[utoipa::path(post, path = "/payments/refund", tag = "payments",
    request_body = RefundRequest,
    responses((status = 200, body = crate::http::openapi::IntentResponse),
              (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope),
              (status = 502, body = kassa::ErrorEnvelope), (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn refund(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::TransactionsVoid)?;
    let req: RefundRequest = body.parse()?;
    payments::refund(r.ctx(&state), req).await
}

/// Set the tip of an unsettled payment.
#[utoipa::path(post, path = "/payments/{id}/tip", tag = "payments",
    request_body = TipRequest,
    params(("id" = PaymentIntentId, Path, description = "The payment intent")),
    responses((status = 200, body = crate::http::openapi::IntentResponse),
              (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope),
              (status = 502, body = kassa::ErrorEnvelope), (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn tip(State(state): State<AppState>, r: RequestCtx, PathId(id): PathId<PaymentIntentId>, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::TransactionsCreate)?;
    let req: TipRequest = body.parse()?;
    payments::adjust_tip(r.ctx(&state), id, req).await
}

/// Create an intent for the browser to confirm; the response carries its `clientSecret`.
#[utoipa::path(post, path = "/payments/intents", tag = "intents",
    request_body = CreateIntentRequest,
    responses((status = 201, body = crate::http::openapi::IntentResponse),
              (status = 400, body = kassa::ErrorEnvelope), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn create_intent(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::TransactionsCreate)?;
    let req: CreateIntentRequest = body.parse()?;
    payments::create_intent(r.ctx(&state), req).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientSecretQuery {
    /// Required with a publishable key.
    client_secret: Option<String>,
}

/// Retrieve an intent: a secret key, or a publishable key with the intent's client secret.
#[utoipa::path(get, path = "/payments/intents/{id}", tag = "intents",
    params(("id" = PaymentIntentId, Path, description = "The payment intent"), ClientSecretQuery),
    responses((status = 200, body = crate::http::openapi::IntentResponse),
              (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn get_intent(
    State(state): State<AppState>,
    r: RequestCtx,
    PathId(id): PathId<PaymentIntentId>,
    ApiQuery(query): ApiQuery<ClientSecretQuery>,
) -> ApiResult<Json<Data<PaymentIntent>>> {
    // Who may see it is the operation's to say (a publishable key with the client secret).
    Ok(Json(Data { data: payments::get_intent(&r.ctx(&state), &id, query.client_secret.as_deref()).await? }))
}

/// Confirm an intent with a card, a token or a saved card (a publishable key sends the
/// `clientSecret`); a 3-D Secure card answers `requires_action` with `nextAction`.
#[utoipa::path(post, path = "/payments/intents/{id}/confirm", tag = "intents",
    request_body = ConfirmIntentRequest,
    params(("id" = PaymentIntentId, Path, description = "The payment intent"),
           ("Kassa-Customer-Session" = Option<String>, Header, description = "With a publishable key, to pay with a saved card or save one")),
    responses((status = 200, body = crate::http::openapi::IntentResponse),
              (status = 402, description = "Declined; the intent takes another card", body = kassa::ErrorEnvelope),
              (status = 403, body = kassa::ErrorEnvelope),
              (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope),
              (status = 502, body = kassa::ErrorEnvelope), (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn confirm_intent(
    State(state): State<AppState>,
    r: RequestCtx,
    PathId(id): PathId<PaymentIntentId>,
    headers: HeaderMap,
    body: JsonBody,
) -> ApiResult<Recorded> {
    let publishable = r.caller.kind == KeyKind::Publishable;
    if !publishable {
        r.caller.require(Permission::TransactionsCreate)?;
    }
    r.limit_card_attempts(&state).await?;
    let req: ConfirmIntentRequest = body.parse()?;
    let session = headers.get(super::extract::SESSION_HEADER).and_then(|v| v.to_str().ok());
    payments::confirm(r.ctx(&state), id, req, publishable, r.origin.clone(), session).await
}

/// Change an intent's amount, line items or metadata before it is paid (secret key).
#[utoipa::path(post, path = "/payments/intents/{id}", tag = "intents",
    request_body = kassa::api::UpdateIntentRequest,
    params(("id" = PaymentIntentId, Path, description = "The payment intent")),
    responses((status = 200, body = crate::http::openapi::IntentResponse),
              (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn update_intent(
    State(state): State<AppState>,
    r: RequestCtx,
    PathId(id): PathId<PaymentIntentId>,
    body: JsonBody,
) -> ApiResult<Recorded> {
    r.caller.require(Permission::TransactionsCreate)?;
    let req: kassa::api::UpdateIntentRequest = body.parse()?;
    payments::update_intent(r.ctx(&state), id, req).await
}

/// Search payments, newest first.
#[utoipa::path(get, path = "/payments/transactions", tag = "payments",
    params(TransactionFilters),
    responses((status = 200, body = crate::http::openapi::IntentPage),
              (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn list_transactions(
    State(state): State<AppState>,
    r: RequestCtx,
    ApiQuery(filters): ApiQuery<TransactionFilters>,
) -> ApiResult<Json<Page<PaymentIntent>>> {
    r.caller.require(Permission::TransactionsView)?;
    Ok(Json(payments::list(&r.ctx(&state), &filters).await?))
}

/// One payment with every processor call made for it.
#[utoipa::path(get, path = "/payments/transactions/{id}", tag = "payments",
    params(("id" = PaymentIntentId, Path, description = "The payment intent")),
    responses((status = 200, body = crate::http::openapi::HistoryResponse),
              (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn get_transaction(
    State(state): State<AppState>,
    r: RequestCtx,
    PathId(id): PathId<PaymentIntentId>,
) -> ApiResult<Json<Data<IntentWithHistory>>> {
    r.caller.require(Permission::TransactionsView)?;
    Ok(Json(Data { data: payments::history(&r.ctx(&state), &id).await? }))
}

/// Declined and failed payments, newest first (the last 30 days unless `dateFrom` says
/// otherwise); `counts=true` answers only how many.
#[utoipa::path(get, path = "/payments/failed", tag = "failed payments",
    params(FailedFilters),
    responses((status = 200, description = "A page of intents, or `{total, declined, error}` with counts=true", body = crate::http::openapi::FailedAnswer),
              (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn list_failed(State(state): State<AppState>, r: RequestCtx, ApiQuery(filters): ApiQuery<FailedFilters>) -> ApiResult<Response> {
    r.caller.require(Permission::TransactionsView)?;
    let ctx = r.ctx(&state);
    if filters.counts == Some(true) {
        return Ok(Json(Data { data: payments::count_failed(&ctx, &filters).await? }).into_response());
    }
    Ok(Json(payments::list_failed(&ctx, &filters).await?).into_response())
}

/// Retry a failed payment with the original card or another one: a new intent whose metadata
/// names the one it retries.
#[utoipa::path(post, path = "/payments/failed/{id}/retry", tag = "failed payments",
    request_body = RetryRequest,
    params(("id" = PaymentIntentId, Path, description = "The failed payment intent")),
    responses((status = 201, body = crate::http::openapi::IntentResponse),
              (status = 402, body = kassa::ErrorEnvelope), (status = 404, body = kassa::ErrorEnvelope),
              (status = 409, body = kassa::ErrorEnvelope), (status = 502, body = kassa::ErrorEnvelope), (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn retry_failed(
    State(state): State<AppState>,
    r: RequestCtx,
    PathId(id): PathId<PaymentIntentId>,
    body: JsonBody,
) -> ApiResult<Recorded> {
    r.caller.require(Permission::TransactionsCreate)?;
    let req: RetryRequest = body.parse()?;
    payments::retry(r.ctx(&state), id, req).await
}

/// Close a failed payment by hand, e.g. when the customer paid in cash.
#[utoipa::path(post, path = "/payments/failed/{id}/resolve", tag = "failed payments",
    request_body = ResolveRequest,
    params(("id" = PaymentIntentId, Path, description = "The failed payment intent")),
    responses((status = 200, body = crate::http::openapi::IntentResponse),
              (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn resolve_failed(
    State(state): State<AppState>,
    r: RequestCtx,
    PathId(id): PathId<PaymentIntentId>,
    body: JsonBody,
) -> ApiResult<Recorded> {
    r.caller.require(Permission::TransactionsVoid)?;
    let req: ResolveRequest = body.parse()?;
    payments::resolve(r.ctx(&state), id, req).await
}
