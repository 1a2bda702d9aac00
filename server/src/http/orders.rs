//! Order routes: they check the caller's permission, parse the body and hand over to
//! [`crate::orders`].

use axum::extract::State;
use axum::Json;
use kassa::api::{
    CreateOrderPaymentRequest, CreateOrderRequest, Data, Order, OrderFilters, Page, Permission, UpdateOrderPaymentRequest,
    UpdateOrderRequest,
};
use kassa::id::{OrderId, OrderPaymentId};

use super::context::RequestCtx;
use super::error::ApiResult;
use super::extract::{ApiQuery, JsonBody, PathId, PathIds};
use super::idempotency::Recorded;
use crate::orders;
use crate::state::AppState;

/// Create an order; the server computes its total from the line items.
#[utoipa::path(post, path = "/orders", tag = "orders", request_body = CreateOrderRequest,
    responses((status = 201, body = crate::http::openapi::OrderResponse), (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn create(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::OrdersManage)?;
    let req: CreateOrderRequest = body.parse()?;
    orders::create(r.ctx(&state), req).await
}

/// An order with its payments ledger and balance.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, body = crate::http::openapi::OrderResponse), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn get(State(state): State<AppState>, r: RequestCtx, PathId(id): PathId<OrderId>) -> ApiResult<Json<Data<Order>>> {
    r.caller.require(Permission::OrdersView)?;
    Ok(Json(Data { data: orders::get(&r.ctx(&state), &id).await? }))
}

/// Orders, newest first.
#[utoipa::path(get, path = "/orders", tag = "orders", params(OrderFilters),
    responses((status = 200, body = crate::http::openapi::OrderPage), (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn list(State(state): State<AppState>, r: RequestCtx, ApiQuery(filters): ApiQuery<OrderFilters>) -> ApiResult<Json<Page<Order>>> {
    r.caller.require(Permission::OrdersView)?;
    Ok(Json(orders::list(&r.ctx(&state), &filters).await?))
}

/// New line items for an open order nothing has been paid on yet; the totals follow them.
#[utoipa::path(post, path = "/orders/{id}", tag = "orders", request_body = UpdateOrderRequest, params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, body = crate::http::openapi::OrderResponse), (status = 400, body = kassa::ErrorEnvelope), (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn update(State(state): State<AppState>, r: RequestCtx, PathId(id): PathId<OrderId>, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::OrdersManage)?;
    let req: UpdateOrderRequest = body.parse()?;
    orders::update(r.ctx(&state), &id, req).await
}

/// A payment intent for the order's open balance, carrying its line items.
#[utoipa::path(post, path = "/orders/{id}/payment-intent", tag = "orders", params(("id" = OrderId, Path, description = "The order")),
    responses((status = 201, body = crate::http::openapi::IntentResponse), (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn payment_intent(State(state): State<AppState>, r: RequestCtx, PathId(id): PathId<OrderId>) -> ApiResult<Recorded> {
    r.caller.require(Permission::OrdersManage)?;
    r.caller.require(Permission::TransactionsCreate)?;
    orders::payment_intent(r.ctx(&state), &id).await
}

/// Record a manual payment (cash, cheque, an external transfer, …) or refund.
#[utoipa::path(post, path = "/orders/{id}/payments", tag = "orders", request_body = CreateOrderPaymentRequest,
    params(("id" = OrderId, Path, description = "The order")),
    responses((status = 201, body = crate::http::openapi::OrderResponse), (status = 400, body = kassa::ErrorEnvelope), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn add_payment(State(state): State<AppState>, r: RequestCtx, PathId(id): PathId<OrderId>, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::OrdersManage)?;
    let req: CreateOrderPaymentRequest = body.parse()?;
    orders::add_payment(r.ctx(&state), &id, req).await
}

/// Correct a payment; the previous values stay in its `corrections`.
#[utoipa::path(patch, path = "/orders/{id}/payments/{uid}", tag = "orders", request_body = UpdateOrderPaymentRequest,
    params(("id" = OrderId, Path, description = "The order"), ("uid" = OrderPaymentId, Path, description = "The payment")),
    responses((status = 200, body = crate::http::openapi::OrderResponse), (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn update_payment(
    State(state): State<AppState>,
    r: RequestCtx,
    PathIds(id, uid): PathIds<OrderId, OrderPaymentId>,
    body: JsonBody,
) -> ApiResult<Recorded> {
    r.caller.require(Permission::OrdersManage)?;
    let req: UpdateOrderPaymentRequest = body.parse()?;
    orders::update_payment(r.ctx(&state), &id, &uid, req).await
}

/// Complete a pending payment.
#[utoipa::path(post, path = "/orders/{id}/payments/{uid}/confirm", tag = "orders",
    params(("id" = OrderId, Path, description = "The order"), ("uid" = OrderPaymentId, Path, description = "The payment")),
    responses((status = 200, body = crate::http::openapi::OrderResponse), (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn confirm_payment(
    State(state): State<AppState>,
    r: RequestCtx,
    PathIds(id, uid): PathIds<OrderId, OrderPaymentId>,
) -> ApiResult<Recorded> {
    r.caller.require(Permission::OrdersManage)?;
    orders::confirm_payment(r.ctx(&state), &id, &uid).await
}

/// Remove a pending payment, or reverse a completed one (it stays in the ledger, reversed).
#[utoipa::path(delete, path = "/orders/{id}/payments/{uid}", tag = "orders",
    params(("id" = OrderId, Path, description = "The order"), ("uid" = OrderPaymentId, Path, description = "The payment")),
    responses((status = 200, body = crate::http::openapi::OrderResponse), (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn delete_payment(
    State(state): State<AppState>,
    r: RequestCtx,
    PathIds(id, uid): PathIds<OrderId, OrderPaymentId>,
) -> ApiResult<Recorded> {
    r.caller.require(Permission::OrdersManage)?;
    orders::delete_payment(r.ctx(&state), &id, &uid).await
}
