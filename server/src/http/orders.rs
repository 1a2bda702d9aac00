//! Orders and their payments ledger.

use axum::extract::State;
use axum::Json;
use kassa::api::{
    CaptureMethod, CreateIntentRequest, CreateOrderPaymentRequest, CreateOrderRequest, Data, LedgerKind, LedgerStatus, Order, OrderFilters,
    Page, PageMeta, Permission, UpdateOrderPaymentRequest, UpdateOrderRequest, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX,
};
use kassa::id::{CustomerId, OrderId, OrderPaymentId};
use serde_json::json;

use super::auth::Caller;
use super::context::RequestCtx;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiQuery, JsonBody, PathId, PathIds};
use super::idempotency::Recorded;
use crate::clock::{parse_filter_date, RangeEnd};
use crate::orders as ledger;
use crate::payments;
use crate::state::AppState;
use crate::store::orders::{self, OrderQuery, OrderRecord, PaymentRecord};
use crate::store::{customers, Tx};

async fn load(state: &AppState, caller: &Caller, id: &OrderId) -> ApiResult<OrderRecord> {
    let mut conn = state.store.reader().acquire().await?;
    orders::find(&mut conn, &caller.merchant_id, id).await?.ok_or_else(|| ApiError::not_found("order"))
}

async fn view(tx: &mut Tx, merchant: &kassa::id::MerchantId, id: &OrderId) -> Result<Order, sqlx::Error> {
    let order = orders::find(tx, merchant, id).await?.ok_or(sqlx::Error::RowNotFound)?;
    let payments = orders::payments(tx, merchant, id).await?;
    Ok(order.to_api(&payments))
}

/// Create an order; the server computes its total from the line items.
#[utoipa::path(post, path = "/orders", tag = "orders", request_body = CreateOrderRequest,
    responses((status = 201, body = crate::http::openapi::OrderResponse), (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn create(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::OrdersManage)?;
    let req: CreateOrderRequest = body.parse()?;
    let now = ledger::now();
    let order = ledger::new_order(req, now)?;
    let (merchant, key) = (r.caller.merchant_id.clone(), r.key.clone());
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                orders::insert(tx, &merchant, &order).await?;
                let response = Recorded::created(&Data { data: order.to_api(&[]) });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// An order with its payments ledger and balance.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, body = crate::http::openapi::OrderResponse), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn get(State(state): State<AppState>, caller: Caller, PathId(id): PathId<OrderId>) -> ApiResult<Json<Data<Order>>> {
    caller.require(Permission::OrdersView)?;
    let order = load(&state, &caller, &id).await?;
    let mut conn = state.store.reader().acquire().await?;
    let payments = orders::payments(&mut conn, &caller.merchant_id, &id).await?;
    Ok(Json(Data { data: order.to_api(&payments) }))
}

/// Orders, newest first.
#[utoipa::path(get, path = "/orders", tag = "orders", params(OrderFilters),
    responses((status = 200, body = crate::http::openapi::OrderPage), (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(filters): ApiQuery<OrderFilters>,
) -> ApiResult<Json<Page<Order>>> {
    caller.require(Permission::OrdersView)?;
    let limit = filters.limit.unwrap_or(PAGE_LIMIT_DEFAULT);
    if !(1..=PAGE_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::validation("limit", format!("limit must be between 1 and {PAGE_LIMIT_MAX}")));
    }
    let date = |field: &str, value: &Option<String>, end| -> ApiResult<Option<i64>> {
        value
            .as_deref()
            .map(|v| {
                parse_filter_date(v, end)
                    .ok_or_else(|| ApiError::validation(field, format!("{field} must be YYYY-MM-DD or an RFC 3339 time")))
            })
            .transpose()
    };
    let mut conn = state.store.reader().acquire().await?;
    let after = match &filters.cursor {
        Some(cursor) => {
            let id: OrderId = cursor.parse().map_err(|_| ApiError::validation("cursor", "cursor is not one this API gave"))?;
            if !orders::exists(&mut conn, &caller.merchant_id, &id).await? {
                return Err(ApiError::validation("cursor", "cursor is not one this API gave"));
            }
            Some(id)
        }
        None => None,
    };
    let query = OrderQuery {
        status: filters.status,
        customer_id: filters.customer_id,
        date_from: date("dateFrom", &filters.date_from, RangeEnd::From)?,
        date_to: date("dateTo", &filters.date_to, RangeEnd::To)?,
        after,
        limit,
    };
    let (rows, has_more) = orders::list(&mut conn, &caller.merchant_id, &query).await?;
    let mut data = Vec::with_capacity(rows.len());
    for order in &rows {
        let payments = orders::payments(&mut conn, &caller.merchant_id, &order.id).await?;
        data.push(order.to_api(&payments));
    }
    let cursor = if has_more { rows.last().map(|o| o.id.to_string()) } else { None };
    Ok(Json(Page { data, meta: PageMeta { cursor, has_more } }))
}

/// New line items for an open order nothing has been paid on yet; the totals follow them.
#[utoipa::path(post, path = "/orders/{id}", tag = "orders", request_body = UpdateOrderRequest, params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, body = crate::http::openapi::OrderResponse), (status = 400, body = kassa::ErrorEnvelope), (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn update(State(state): State<AppState>, r: RequestCtx, PathId(id): PathId<OrderId>, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::OrdersManage)?;
    let order = load(&state, &r.caller, &id).await?;
    let req: UpdateOrderRequest = body.parse()?;
    let now = ledger::now();
    let changed = ledger::with_line_items(order, req.line_items, now)?;
    let (merchant, key) = (r.caller.merchant_id.clone(), r.key.clone());
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                // Checked in the same statement that writes, so a payment recorded meanwhile wins.
                if !orders::update_terms(tx, &merchant, &changed).await? {
                    return Err(ApiError::invalid_state("Only an open order with no payments can change its line items"));
                }
                ledger::settle(tx, &merchant, &id, now).await?;
                let response = Recorded::ok(&Data { data: view(tx, &merchant, &id).await? });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// A payment intent for the order's open balance, carrying its line items.
#[utoipa::path(post, path = "/orders/{id}/payment-intent", tag = "orders", params(("id" = OrderId, Path, description = "The order")),
    responses((status = 201, body = crate::http::openapi::IntentResponse), (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn payment_intent(State(state): State<AppState>, r: RequestCtx, PathId(id): PathId<OrderId>) -> ApiResult<Recorded> {
    r.caller.require(Permission::OrdersManage)?;
    r.caller.require(Permission::TransactionsCreate)?;
    let order = load(&state, &r.caller, &id).await?;
    let mut conn = state.store.reader().acquire().await?;
    let balance = order.to_api(&orders::payments(&mut conn, &r.caller.merchant_id, &id).await?).balance_cents.get();
    if balance <= 0 {
        return Err(
            ApiError::invalid_state("This order is paid; there is nothing left to pay").with_details(json!({ "balanceCents": balance }))
        );
    }
    // Refunds recorded by hand can leave more owing than one payment may carry.
    if balance > kassa::money::MAX_AMOUNT_CENTS {
        return Err(ApiError::invalid_state(format!(
            "This order's balance is more than one payment can carry (at most {}); take part of it another way first",
            kassa::money::MAX_AMOUNT_CENTS
        ))
        .with_details(json!({ "balanceCents": balance, "maxAmountCents": kassa::money::MAX_AMOUNT_CENTS })));
    }
    let customer = match order.customer_id.as_deref().and_then(|c| c.parse::<CustomerId>().ok()) {
        Some(c) if customers::find(&state.store, &r.caller.merchant_id, &c).await?.is_some() => Some(c),
        _ => None,
    };
    payments::create_intent(
        r.ctx(&state),
        CreateIntentRequest {
            amount_cents: balance.into(),
            currency: order.currency,
            capture_method: CaptureMethod::Automatic,
            order_id: Some(order.id.clone()),
            reference: None,
            customer_id: customer,
            location_id: None,
            line_items: order.line_items.clone(),
            metadata: Default::default(),
            client_request_id: None,
        },
    )
    .await
}

/// Record a manual payment (cash, cheque, an external transfer, …) or refund.
#[utoipa::path(post, path = "/orders/{id}/payments", tag = "orders", request_body = CreateOrderPaymentRequest,
    params(("id" = OrderId, Path, description = "The order")),
    responses((status = 201, body = crate::http::openapi::OrderResponse), (status = 400, body = kassa::ErrorEnvelope), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn add_payment(State(state): State<AppState>, r: RequestCtx, PathId(id): PathId<OrderId>, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::OrdersManage)?;
    let order = load(&state, &r.caller, &id).await?;
    let req: CreateOrderPaymentRequest = body.parse()?;
    may_touch_refunds(&r.caller, req.kind)?;
    let now = ledger::now();
    let payment = ledger::new_manual_payment(&order, req, r.caller.label(), now)?;
    let (merchant, key) = (r.caller.merchant_id.clone(), r.key.clone());
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                orders::insert_payment(tx, &merchant, &payment).await?;
                ledger::settle(tx, &merchant, &id, now).await?;
                let response = Recorded::created(&Data { data: view(tx, &merchant, &id).await? });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// Money given back, by card or by hand, takes the permission a card refund takes
/// (`payments.transactions.void`): a role that may not refund a card may not record, correct,
/// confirm or reverse a refund in the ledger either.
fn may_touch_refunds(caller: &Caller, kind: LedgerKind) -> ApiResult<()> {
    if kind == LedgerKind::Refund {
        caller.require(Permission::TransactionsVoid)?;
    }
    Ok(())
}

/// A payment of the order, for a change that `caller` may make to it.
async fn find_payment(state: &AppState, caller: &Caller, order: &OrderId, uid: &OrderPaymentId) -> ApiResult<PaymentRecord> {
    load(state, caller, order).await?;
    let mut conn = state.store.reader().acquire().await?;
    let payment = orders::payments(&mut conn, &caller.merchant_id, order)
        .await?
        .into_iter()
        .find(|p| p.id == *uid)
        .ok_or_else(|| ApiError::not_found("order payment"))?;
    may_touch_refunds(caller, payment.kind)?;
    Ok(payment)
}

/// Writes a changed payment (if nobody changed it since it was read), settles the order and
/// answers with it.
async fn save_change(
    state: &AppState,
    r: &RequestCtx,
    order: OrderId,
    before: PaymentRecord,
    after: Option<PaymentRecord>,
) -> ApiResult<Recorded> {
    let (merchant, key, now) = (r.caller.merchant_id.clone(), r.key.clone(), ledger::now());
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                let done = match &after {
                    Some(after) => orders::update_payment(tx, &merchant, after, before.status, before.updated_at).await?,
                    None => orders::delete_pending(tx, &merchant, &before.id).await?,
                };
                if !done {
                    return Err(ApiError::invalid_state("The payment changed while this request ran; fetch the order and try again"));
                }
                ledger::settle(tx, &merchant, &order, now).await?;
                let response = Recorded::ok(&Data { data: view(tx, &merchant, &order).await? });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
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
    let payment = find_payment(&state, &r.caller, &id, &uid).await?;
    let req: UpdateOrderPaymentRequest = body.parse()?;
    let after = ledger::corrected(&payment, req, r.caller.label(), ledger::now())?;
    save_change(&state, &r, id, payment, Some(after)).await
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
    let payment = find_payment(&state, &r.caller, &id, &uid).await?;
    let after = ledger::confirmed(&payment, r.caller.label(), ledger::now())?;
    save_change(&state, &r, id, payment, Some(after)).await
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
    let payment = find_payment(&state, &r.caller, &id, &uid).await?;
    if payment.status == LedgerStatus::Pending && payment.created_via != "card" {
        return save_change(&state, &r, id, payment, None).await;
    }
    let after = ledger::reversed(&payment, r.caller.label(), ledger::now())?;
    save_change(&state, &r, id, payment, Some(after)).await
}
