//! A merchant's card processor (`/api/v1/processor`, secret key or owner only) and the webhooks
//! processors send (`/processor-webhooks/stripe/{merchant}`): the routes read the request and hand
//! over to [`crate::merchants::processor`] and [`crate::payments::processor_events`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use kassa::api::{Data, ProcessorSettings, UpdateProcessorRequest};
use serde_json::json;

use super::context::RequestCtx;
use super::error::ApiResult;
use super::extract::JsonBody;
use super::idempotency::Recorded;
use crate::merchants::processor;
use crate::payments::processor_events;
use crate::state::AppState;

/// This merchant's card processor (secret key only): never its secrets, only their hints.
#[utoipa::path(get, path = "/processor", tag = "processor",
    responses((status = 200, body = crate::http::openapi::ProcessorResponse), (status = 403, body = kassa::ErrorEnvelope)))]
pub async fn get(State(state): State<AppState>, r: RequestCtx) -> ApiResult<Json<Data<ProcessorSettings>>> {
    r.caller.require_admin()?;
    Ok(Json(Data { data: processor::get(&r.ctx(&state)).await? }))
}

/// Chooses this merchant's card processor (secret key only). A Stripe key is tried at Stripe
/// before it is kept, sealed with the server's encryption key, as a new version of the merchant's
/// credentials. Payments already made stay with the processor and credentials that made them.
#[utoipa::path(post, path = "/processor", tag = "processor",
    request_body = UpdateProcessorRequest,
    responses((status = 200, body = crate::http::openapi::ProcessorResponse), (status = 400, body = kassa::ErrorEnvelope),
              (status = 403, body = kassa::ErrorEnvelope), (status = 502, body = kassa::ErrorEnvelope),
              (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn update(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require_admin()?;
    let req: UpdateProcessorRequest = body.parse()?;
    processor::update(r.ctx(&state), req).await
}

/// Stripe's webhooks for one merchant: verified with the merchant's signing secret, then applied
/// to its payments once. Answers 200 to anything verified (Stripe retries the rest).
#[utoipa::path(post, path = "/processor-webhooks/stripe/{merchant}", tag = "processor", security(()),
    params(("merchant" = String, Path, description = "The merchant the endpoint belongs to"),
           ("Stripe-Signature" = String, Header, description = "t=<unix>,v1=<hex HMAC-SHA256 of \"t.body\">")),
    request_body(content = serde_json::Value, description = "A Stripe event", content_type = "application/json"),
    responses((status = 200, description = "Verified and applied (or known already)"), (status = 400, body = kassa::ErrorEnvelope),
              (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn stripe_webhook(
    State(state): State<AppState>,
    Path(merchant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let applied = processor_events::receive_stripe(&state, &merchant, signature, &body).await?;
    Ok(Json(json!({ "received": true, "applied": applied.as_str() })))
}
