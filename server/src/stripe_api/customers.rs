//! `/v1/customers`: create, retrieve, update, delete, list, and a customer's payment methods —
//! each one call of [`crate::customers`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kassa::api::{CreateCustomerRequest, PageRequest, Permission, UpdateCustomerRequest};
use kassa::id::CustomerId;
use serde_json::json;

use super::form::invalid;
use super::objects::{self};
use super::{rendered, FaceRequest, FaceResult};
use crate::customers;
use crate::error::{ApiError, ApiResult};
use crate::http::context::RequestCtx;
use crate::state::AppState;

fn customer_id(id: &str) -> ApiResult<CustomerId> {
    id.parse().map_err(|_| missing(id))
}

fn missing(id: &str) -> ApiError {
    super::form::no_such("customer", id, "id")
}

/// What Kassa keeps of a customer; anything else Stripe takes is refused by name, not dropped.
const FIELDS: &[&str] = &["email", "name", "metadata", "expand"];

pub async fn create(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    r.caller.require(Permission::MethodsManage)?;
    let p = &f.params;
    p.only(FIELDS)?;
    let req = CreateCustomerRequest {
        email: p.text("email")?,
        name: p.text("name")?,
        metadata: p.metadata()?.unwrap_or_default(),
        client_request_id: None,
    };
    Ok(customers::create(r.ctx(&state), req).await?.into_response())
}

pub async fn retrieve(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require(Permission::MethodsView)?;
    f.params.only(&["expand"])?;
    let customer = customers::get(&r.ctx(&state), &customer_id(&id)?).await.map_err(|_| missing(&id))?;
    Ok(rendered(StatusCode::OK, objects::customer(&customer)))
}

pub async fn update(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require(Permission::MethodsManage)?;
    let p = &f.params;
    p.only(FIELDS)?;
    let id = customer_id(&id)?;
    let metadata = match p.metadata()? {
        None => None,
        Some(changes) => {
            let now = customers::get(&r.ctx(&state), &id).await.map_err(|_| missing(id.as_str()))?.metadata;
            Some(super::form::merge_metadata(now, changes))
        }
    };
    let present =
        |name: &str| -> ApiResult<Option<String>> { Ok(p.has(name).then(|| p.text(name)).transpose()?.map(Option::unwrap_or_default)) };
    let req = UpdateCustomerRequest { email: present("email")?, name: present("name")?, metadata, client_request_id: None };
    Ok(customers::update(r.ctx(&state), &id, req).await?.into_response())
}

pub async fn delete(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require(Permission::MethodsManage)?;
    f.params.only(&[])?;
    let customer = customer_id(&id)?;
    customers::delete(&r.ctx(&state), &customer).await.map_err(|e| if e.code == kassa::ErrorCode::NotFound { missing(&id) } else { e })?;
    Ok(rendered(StatusCode::OK, json!({ "id": id, "object": "customer", "deleted": true })))
}

pub async fn list(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    r.caller.require(Permission::MethodsView)?;
    let p = &f.params;
    p.only(&["limit", "starting_after", "email", "expand"])?;
    let limit = super::form::limit(p)?;
    let after = p.text("starting_after")?;
    let ctx = r.ctx(&state);
    let email = p.text("email")?;
    let page = customers::list_by_email(&ctx, &PageRequest { cursor: after, limit: Some(limit) }, email.as_deref()).await.map_err(|e| {
        if e.code == kassa::ErrorCode::ValidationError {
            invalid("starting_after", "resource_missing", "No such customer")
        } else {
            e
        }
    })?;
    let data = page.data.iter().map(objects::customer).collect();
    let has_more = page.meta.has_more;
    Ok(rendered(StatusCode::OK, objects::list("/v1/customers", data, has_more)))
}

/// `GET /v1/customers/{id}/payment_methods`.
pub async fn payment_methods(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    f.params.only(&["type", "limit", "starting_after", "ending_before", "expand"])?;
    let customer = customer_id(&id)?;
    // A customer deleted, or never made, has no cards to list: it is not there.
    customers::get(&r.ctx(&state), &customer).await.map_err(|_| missing(&id))?;
    super::payment_methods::list_of(&state, &r, &f.params, &customer, &format!("/v1/customers/{id}/payment_methods")).await
}
