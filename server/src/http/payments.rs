//! Payment routes: they check the caller's permission, parse the body and hand over to
//! [`crate::payments`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use kassa::api::{
    CaptureRequest, ChargeRequest, CreateTokenRequest, Data, IntentWithHistory, KeyKind, Page, PageMeta,
    Permission, RefundRequest, TipRequest, TransactionFilters, VoidRequest, PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
};
use kassa::id::PaymentIntentId;
use kassa::api::PaymentIntent;

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::{parse_json, ApiQuery};
use super::idempotency::{IdempotencyKey, Recorded};
use crate::clock::{parse_filter_date, RangeEnd};
use crate::payments::{self, Ctx};
use crate::state::AppState;
use crate::store::intents::{self, IntentQuery};

type Key = Option<Extension<IdempotencyKey>>;

fn ctx<'a>(state: &'a AppState, caller: &'a Caller, key: &'a Key) -> Ctx<'a> {
    Ctx { state, merchant: &caller.merchant_id, key: key.as_ref().map(|k| &k.0) }
}

/// A path id of the wrong kind names nothing this merchant has.
pub fn intent_id(raw: &str) -> ApiResult<PaymentIntentId> {
    raw.parse().map_err(|_| ApiError::not_found("payment intent"))
}

/// Tokenize a card into a single-use `tok_…`.
#[utoipa::path(post, path = "/api/v1/payment-methods", tag = "payment methods",
    request_body = CreateTokenRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, description = "The token", body = crate::http::openapi::TokenResponse),
              (status = 400, body = kassa::ErrorEnvelope), (status = 401, body = kassa::ErrorEnvelope),
              (status = 403, body = kassa::ErrorEnvelope)))]
pub async fn create_payment_method(State(state): State<AppState>, caller: Caller, key: Key, body: Bytes) -> ApiResult<Recorded> {
    if !matches!(caller.kind, KeyKind::Publishable | KeyKind::Secret)
        && caller.require(Permission::TransactionsCreate).is_err()
    {
        caller.require(Permission::MethodsManage)?;
    }
    let req: CreateTokenRequest = parse_json(&body)?;
    payments::create_token(ctx(&state, &caller, &key), req).await
}

/// Hold funds on a card.
#[utoipa::path(post, path = "/api/v1/payments/authorize", tag = "payments",
    request_body = ChargeRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, description = "Authorized (or waiting for 3-D Secure)", body = crate::http::openapi::IntentResponse),
              (status = 402, description = "Declined", body = kassa::ErrorEnvelope),
              (status = 400, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope),
              (status = 502, body = kassa::ErrorEnvelope), (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn authorize(State(state): State<AppState>, caller: Caller, key: Key, body: Bytes) -> ApiResult<Recorded> {
    caller.require(Permission::TransactionsCreate)?;
    let req: ChargeRequest = parse_json(&body)?;
    payments::charge(ctx(&state, &caller, &key), req, false).await
}

/// Authorize and capture in one step, with an optional tip.
#[utoipa::path(post, path = "/api/v1/payments/sale", tag = "payments",
    request_body = ChargeRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, description = "Captured (or waiting for 3-D Secure)", body = crate::http::openapi::IntentResponse),
              (status = 402, description = "Declined", body = kassa::ErrorEnvelope),
              (status = 400, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope),
              (status = 502, body = kassa::ErrorEnvelope), (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn sale(State(state): State<AppState>, caller: Caller, key: Key, body: Bytes) -> ApiResult<Recorded> {
    caller.require(Permission::TransactionsCreate)?;
    let req: ChargeRequest = parse_json(&body)?;
    payments::charge(ctx(&state, &caller, &key), req, true).await
}

/// Capture an authorization, fully or in part.
#[utoipa::path(post, path = "/api/v1/payments/capture", tag = "payments",
    request_body = CaptureRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 200, body = crate::http::openapi::IntentResponse),
              (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn capture(State(state): State<AppState>, caller: Caller, key: Key, body: Bytes) -> ApiResult<Recorded> {
    caller.require(Permission::TransactionsCreate)?;
    let req: CaptureRequest = parse_json(&body)?;
    payments::capture(ctx(&state, &caller, &key), req).await
}

/// Release an authorization, or void a capture before settlement.
#[utoipa::path(post, path = "/api/v1/payments/void", tag = "payments",
    request_body = VoidRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 200, body = crate::http::openapi::IntentResponse),
              (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn void(State(state): State<AppState>, caller: Caller, key: Key, body: Bytes) -> ApiResult<Recorded> {
    caller.require(Permission::TransactionsVoid)?;
    let req: VoidRequest = parse_json(&body)?;
    payments::void(ctx(&state, &caller, &key), req).await
}

/// Refund some or all of what was captured.
#[utoipa::path(post, path = "/api/v1/payments/refund", tag = "payments",
    request_body = RefundRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 200, body = crate::http::openapi::IntentResponse),
              (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn refund(State(state): State<AppState>, caller: Caller, key: Key, body: Bytes) -> ApiResult<Recorded> {
    caller.require(Permission::TransactionsVoid)?;
    let req: RefundRequest = parse_json(&body)?;
    payments::refund(ctx(&state, &caller, &key), req).await
}

/// Set the tip of an unsettled payment.
#[utoipa::path(post, path = "/api/v1/payments/{id}/tip", tag = "payments",
    request_body = TipRequest,
    params(("id" = String, Path, description = "The payment intent"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 200, body = crate::http::openapi::IntentResponse),
              (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn tip(State(state): State<AppState>, caller: Caller, key: Key, Path(id): Path<String>, body: Bytes) -> ApiResult<Recorded> {
    caller.require(Permission::TransactionsCreate)?;
    let id = intent_id(&id)?;
    let req: TipRequest = parse_json(&body)?;
    payments::adjust_tip(ctx(&state, &caller, &key), id, req).await
}

/// Search payments, newest first.
#[utoipa::path(get, path = "/api/v1/payments/transactions", tag = "payments",
    params(TransactionFilters),
    responses((status = 200, body = crate::http::openapi::IntentPage),
              (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn list_transactions(State(state): State<AppState>, caller: Caller, ApiQuery(filters): ApiQuery<TransactionFilters>) -> ApiResult<Json<Page<PaymentIntent>>> {
    caller.require(Permission::TransactionsView)?;
    let limit = filters.limit.unwrap_or(PAGE_LIMIT_DEFAULT);
    if !(1..=PAGE_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::validation("limit", format!("limit must be between 1 and {PAGE_LIMIT_MAX}")));
    }
    let date = |field: &str, value: &Option<String>, end| -> ApiResult<Option<i64>> {
        value
            .as_deref()
            .map(|v| parse_filter_date(v, end).ok_or_else(|| ApiError::validation(field, format!("{field} must be YYYY-MM-DD or an RFC 3339 time"))))
            .transpose()
    };
    if filters.card_last4.as_deref().is_some_and(|l| l.len() != 4 || !l.bytes().all(|b| b.is_ascii_digit())) {
        return Err(ApiError::validation("cardLast4", "cardLast4 must be four digits"));
    }
    let after = match &filters.cursor {
        None => None,
        Some(cursor) => {
            let id: PaymentIntentId = cursor.parse().map_err(|_| ApiError::validation("cursor", "cursor is not one this API gave"))?;
            if !intents::exists(&state.store, &caller.merchant_id, &id).await? {
                return Err(ApiError::validation("cursor", "cursor is not one this API gave"));
            }
            Some(id)
        }
    };
    let query = IntentQuery {
        statuses: filters.status.into_iter().collect(),
        date_from: date("dateFrom", &filters.date_from, RangeEnd::From)?,
        date_to: date("dateTo", &filters.date_to, RangeEnd::To)?,
        amount_min_cents: filters.amount_min_cents,
        amount_max_cents: filters.amount_max_cents,
        card_last4: filters.card_last4,
        customer_id: filters.customer_id,
        order_id: filters.order_id,
        location_id: filters.location_id,
        after,
        limit,
    };
    let (rows, has_more) = intents::list(&state.store, &caller.merchant_id, &query).await?;
    let cursor = if has_more { rows.last().map(|r| r.id.to_string()) } else { None };
    Ok(Json(Page { data: rows.iter().map(|r| r.to_api()).collect(), meta: PageMeta { cursor, has_more } }))
}

/// One payment with every processor call made for it.
#[utoipa::path(get, path = "/api/v1/payments/transactions/{id}", tag = "payments",
    params(("id" = String, Path, description = "The payment intent")),
    responses((status = 200, body = crate::http::openapi::HistoryResponse),
              (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn get_transaction(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Data<IntentWithHistory>>> {
    caller.require(Permission::TransactionsView)?;
    let id = intent_id(&id)?;
    let intent = intents::find(&state.store, &caller.merchant_id, &id).await?.ok_or_else(|| ApiError::not_found("payment intent"))?;
    let transactions = intents::list_transactions(&state.store, &caller.merchant_id, &id).await?;
    Ok(Json(Data { data: IntentWithHistory { intent: intent.to_api(), transactions } }))
}
