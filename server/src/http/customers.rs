//! Customers and their saved cards. A publishable key may list and delete one customer's cards
//! when it also sends that customer's session secret (`Kassa-Customer-Session`).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use kassa::api::{
    CreateCustomerRequest, Customer, CustomerSession, Data, KeyKind, Page, PageMeta, Permission, SavePaymentMethodRequest,
    SavedPaymentMethod, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX,
};
use kassa::id::{customer_of_session, CustomerId, PaymentMethodId};
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use super::context::RequestCtx;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiQuery, JsonBody, PathId, PathIds};
use super::idempotency::Recorded;
use crate::clock::{format_ms, now_ms};
use crate::ids;
use crate::payments::hash_secret;
use crate::state::AppState;
use crate::store::customers::{self, StoredMethod};
use crate::store::tokens;

/// How long a customer session lasts.
const SESSION_MS: i64 = 30 * 60 * 1000;
pub use super::extract::SESSION_HEADER;

async fn existing_customer(state: &AppState, caller: &Caller, id: &CustomerId) -> ApiResult<Customer> {
    customers::find(&state.store, &caller.merchant_id, id).await?.ok_or_else(|| ApiError::not_found("customer"))
}

/// A secret or restricted key with `permission`, or a publishable key with a live session of
/// this very customer. Anything else about another customer is a 404.
async fn may_manage(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    customer: &CustomerId,
    permission: Permission,
) -> ApiResult<()> {
    if caller.kind != KeyKind::Publishable {
        return caller.require(permission);
    }
    let secret = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::forbidden("A publishable key needs the customer's session secret in the Kassa-Customer-Session header"))?;
    let owner = match customer_of_session(secret) {
        Some(owner) if &owner == customer => {
            customers::session_customer(&state.store, &caller.merchant_id, &hash_secret(secret), now_ms()).await?
        }
        _ => None,
    };
    if owner.as_ref() == Some(customer) {
        Ok(())
    } else {
        Err(ApiError::not_found("customer"))
    }
}

/// Create a customer.
#[utoipa::path(post, path = "/customers", tag = "customers",
    request_body = CreateCustomerRequest,
    responses((status = 201, body = crate::http::openapi::CustomerResponse), (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn create(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require(Permission::MethodsManage)?;
    let req: CreateCustomerRequest = body.parse()?;
    for (field, value) in [("email", &req.email), ("name", &req.name)] {
        if value.as_ref().is_some_and(|v| v.is_empty() || v.chars().count() > 255) {
            return Err(ApiError::validation(field, format!("{field} must be 1 to 255 characters")));
        }
    }
    if req.email.as_ref().is_some_and(|e| !e.contains('@')) {
        return Err(ApiError::validation("email", "email must be an email address"));
    }
    if req.metadata.len() > 50 {
        return Err(ApiError::validation("metadata", "metadata holds at most 50 keys"));
    }
    let now = now_ms();
    let customer = Customer { id: ids::new(), email: req.email, name: req.name, metadata: req.metadata, created_at: format_ms(now) };
    let (merchant, key) = (r.caller.merchant_id.clone(), r.key.clone());
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                customers::insert(tx, &merchant, &customer, now).await?;
                let response = Recorded::created(&Data { data: customer });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerListQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

/// List customers, newest first.
#[utoipa::path(get, path = "/customers", tag = "customers", params(CustomerListQuery),
    responses((status = 200, body = crate::http::openapi::CustomerPage), (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CustomerListQuery>,
) -> ApiResult<Json<Page<Customer>>> {
    caller.require(Permission::MethodsView)?;
    let limit = query.limit.unwrap_or(PAGE_LIMIT_DEFAULT);
    if !(1..=PAGE_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::validation("limit", format!("limit must be between 1 and {PAGE_LIMIT_MAX}")));
    }
    let after = match &query.cursor {
        Some(cursor) => {
            let id: CustomerId = cursor.parse().map_err(|_| ApiError::validation("cursor", "cursor is not one this API gave"))?;
            existing_customer(&state, &caller, &id).await.map_err(|_| ApiError::validation("cursor", "cursor is not one this API gave"))?;
            Some(id)
        }
        None => None,
    };
    let (rows, has_more) = customers::list(&state.store, &caller.merchant_id, after.as_ref(), limit).await?;
    let cursor = if has_more { rows.last().map(|c| c.id.to_string()) } else { None };
    Ok(Json(Page { data: rows, meta: PageMeta { cursor, has_more } }))
}

/// Retrieve a customer.
#[utoipa::path(get, path = "/customers/{id}", tag = "customers",
    params(("id" = CustomerId, Path, description = "The customer")),
    responses((status = 200, body = crate::http::openapi::CustomerResponse), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn get(State(state): State<AppState>, caller: Caller, PathId(customer): PathId<CustomerId>) -> ApiResult<Json<Data<Customer>>> {
    caller.require(Permission::MethodsView)?;
    let customer = existing_customer(&state, &caller, &customer).await?;
    Ok(Json(Data { data: customer }))
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
    let customer = existing_customer(&state, &r.caller, &customer).await?;
    let req: SavePaymentMethodRequest = body.parse()?;
    if req.nickname.as_ref().is_some_and(|n| n.is_empty() || n.chars().count() > 100) {
        return Err(ApiError::validation("nickname", "nickname must be 1 to 100 characters"));
    }
    let token = tokens::find(&state.store, &r.caller.merchant_id, &req.token)
        .await?
        .ok_or_else(|| ApiError::not_found("card token").with_details(json!({ "field": "token" })))?;
    if token.used {
        return Err(ApiError::invalid_state(crate::payments::TOKEN_USED));
    }
    let now = now_ms();
    let stored = StoredMethod {
        method: SavedPaymentMethod {
            id: ids::new::<PaymentMethodId>(),
            customer_id: customer.id,
            kind: "card".into(),
            card: token.card.clone(),
            nickname: req.nickname,
            is_default: req.is_default,
            created_at: format_ms(now),
        },
        processor_token: token.processor_token.clone(),
    };
    let (merchant, key) = (r.caller.merchant_id.clone(), r.key.clone());
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                crate::payments::spend_token(tx, &merchant, Some(&token.id), now).await?;
                let saved = customers::insert_method(tx, &merchant, &stored, now).await?;
                let response = Recorded::created(&Data { data: saved });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// A customer's saved cards, the default first.
#[utoipa::path(get, path = "/customers/{id}/payment-methods", tag = "customers",
    params(("id" = CustomerId, Path, description = "The customer"),
           ("Kassa-Customer-Session" = Option<String>, Header, description = "With a publishable key")),
    responses((status = 200, body = crate::http::openapi::SavedMethodList), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn list_methods(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(customer): PathId<CustomerId>,
) -> ApiResult<Json<Data<Vec<SavedPaymentMethod>>>> {
    may_manage(&state, &caller, &headers, &customer, Permission::MethodsView).await?;
    existing_customer(&state, &caller, &customer).await?;
    Ok(Json(Data { data: customers::list_methods(&state.store, &caller.merchant_id, &customer).await? }))
}

/// Remove a saved card.
#[utoipa::path(delete, path = "/customers/{id}/payment-methods/{methodId}", tag = "customers",
    params(("id" = CustomerId, Path, description = "The customer"), ("methodId" = PaymentMethodId, Path, description = "The saved card"),
           ("Kassa-Customer-Session" = Option<String>, Header, description = "With a publishable key")),
    responses((status = 200, description = "Deleted"), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn delete_method(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    PathIds(customer, method): PathIds<CustomerId, PaymentMethodId>,
) -> ApiResult<Json<serde_json::Value>> {
    may_manage(&state, &caller, &headers, &customer, Permission::MethodsManage).await?;
    let merchant = caller.merchant_id.clone();
    let removed = method.clone();
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if customers::detach_method(tx, &merchant, &customer, &method, now_ms()).await? {
                    Ok(())
                } else {
                    Err(ApiError::not_found("payment method"))
                }
            })
        })
        .await?;
    Ok(Json(json!({ "data": { "id": removed, "deleted": true } })))
}

/// A short-lived secret that lets the browser, with the publishable key, list, delete and pay with
/// this customer's cards.
#[utoipa::path(post, path = "/customers/{id}/sessions", tag = "customers",
    params(("id" = CustomerId, Path, description = "The customer")),
    responses((status = 201, body = crate::http::openapi::SessionResponse), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn create_session(State(state): State<AppState>, r: RequestCtx, PathId(customer): PathId<CustomerId>) -> ApiResult<Recorded> {
    r.caller.require(Permission::MethodsManage)?;
    let customer = existing_customer(&state, &r.caller, &customer).await?;
    let now = now_ms();
    let secret = format!("{}_session_{}", customer.id, ids::secret(""));
    let session = CustomerSession { customer_id: customer.id.clone(), secret: secret.clone(), expires_at: format_ms(now + SESSION_MS) };
    let (merchant, key) = (r.caller.merchant_id.clone(), r.key.clone());
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                customers::insert_session(tx, &merchant, &customer.id, &hash_secret(&secret), now + SESSION_MS, now).await?;
                let response = Recorded::created(&Data { data: session });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}
