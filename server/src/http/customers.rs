//! Customer routes: they check the caller's permission, parse the body and hand over to
//! [`crate::customers`]. A publishable key sends a customer's session secret in
//! `Kassa-Customer-Session`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use kassa::api::{CreateCustomerRequest, Customer, Data, Page, PageRequest, Permission, SavePaymentMethodRequest, SavedPaymentMethod};
use kassa::id::{CustomerId, PaymentMethodId};
use serde_json::json;

use super::context::RequestCtx;
use super::error::ApiResult;
use super::extract::{ApiQuery, JsonBody, PathId, PathIds};
use super::idempotency::Recorded;
use crate::customers;
use crate::state::AppState;

pub use super::extract::SESSION_HEADER;

fn session(headers: &HeaderMap) -> Option<&str> {
    headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok())
}

/// Create a customer.
#[utoipa::path(post, path = "/customers", tag = "customers",
    request_body = CreateCustomerRequest,
    responses((status = 201, body = crate::http::openapi::CustomerResponse), (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn create(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::MethodsManage)?;
    let req: CreateCustomerRequest = body.parse()?;
    customers::create(r.ctx(&state), req).await
}

/// List customers, newest first.
#[utoipa::path(get, path = "/customers", tag = "customers", params(PageRequest),
    responses((status = 200, body = crate::http::openapi::CustomerPage), (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn list(State(state): State<AppState>, r: RequestCtx, ApiQuery(page): ApiQuery<PageRequest>) -> ApiResult<Json<Page<Customer>>> {
    r.caller.require(Permission::MethodsView)?;
    Ok(Json(customers::list(&r.ctx(&state), &page).await?))
}

/// Retrieve a customer.
#[utoipa::path(get, path = "/customers/{id}", tag = "customers",
    params(("id" = CustomerId, Path, description = "The customer")),
    responses((status = 200, body = crate::http::openapi::CustomerResponse), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn get(State(state): State<AppState>, r: RequestCtx, PathId(customer): PathId<CustomerId>) -> ApiResult<Json<Data<Customer>>> {
    r.caller.require(Permission::MethodsView)?;
    Ok(Json(Data { data: customers::get(&r.ctx(&state), &customer).await? }))
}

/// Save a tokenized card for a customer (the token is used up).
#[utoipa::path(post, path = "/customers/{id}/payment-methods", tag = "customers",
    request_body = SavePaymentMethodRequest,
    params(("id" = CustomerId, Path, description = "The customer")),
    responses((status = 201, body = crate::http::openapi::SavedMethodResponse),
              (status = 404, body = kassa::ErrorEnvelope), (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn save_method(
    State(state): State<AppState>,
    r: RequestCtx,
    PathId(customer): PathId<CustomerId>,
    body: JsonBody,
) -> ApiResult<Recorded> {
    r.caller.require(Permission::MethodsManage)?;
    let req: SavePaymentMethodRequest = body.parse()?;
    customers::save_method(r.ctx(&state), &customer, req).await
}

/// A customer's saved cards, the default first.
#[utoipa::path(get, path = "/customers/{id}/payment-methods", tag = "customers",
    params(("id" = CustomerId, Path, description = "The customer"),
           ("Kassa-Customer-Session" = Option<String>, Header, description = "With a publishable key")),
    responses((status = 200, body = crate::http::openapi::SavedMethodList), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn list_methods(
    State(state): State<AppState>,
    r: RequestCtx,
    headers: HeaderMap,
    PathId(customer): PathId<CustomerId>,
) -> ApiResult<Json<Data<Vec<SavedPaymentMethod>>>> {
    // Who may ask is the operation's to say (a publishable key with the customer's session).
    Ok(Json(Data { data: customers::list_methods(&r.ctx(&state), &customer, session(&headers)).await? }))
}

/// Remove a saved card.
#[utoipa::path(delete, path = "/customers/{id}/payment-methods/{methodId}", tag = "customers",
    params(("id" = CustomerId, Path, description = "The customer"), ("methodId" = PaymentMethodId, Path, description = "The saved card"),
           ("Kassa-Customer-Session" = Option<String>, Header, description = "With a publishable key")),
    responses((status = 200, description = "Deleted"), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn delete_method(
    State(state): State<AppState>,
    r: RequestCtx,
    headers: HeaderMap,
    PathIds(customer, method): PathIds<CustomerId, PaymentMethodId>,
) -> ApiResult<Json<serde_json::Value>> {
    // Who may ask is the operation's to say, as for listing.
    let detached = customers::detach_method(&r.ctx(&state), &customer, &method, session(&headers)).await?;
    Ok(Json(json!({ "data": { "id": detached.id, "deleted": true } })))
}

/// A short-lived secret that lets the browser, with the publishable key, list, delete and pay with
/// this customer's cards.
#[utoipa::path(post, path = "/customers/{id}/sessions", tag = "customers",
    params(("id" = CustomerId, Path, description = "The customer")),
    responses((status = 201, body = crate::http::openapi::SessionResponse), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn create_session(State(state): State<AppState>, r: RequestCtx, PathId(customer): PathId<CustomerId>) -> ApiResult<Recorded> {
    r.caller.require(Permission::MethodsManage)?;
    customers::create_session(r.ctx(&state), &customer).await
}
