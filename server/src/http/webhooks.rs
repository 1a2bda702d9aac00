//! Webhook endpoint and event routes: they check that the caller administers the merchant, parse
//! the body and hand over to [`crate::webhooks::endpoints`] and [`crate::webhooks::events`].

use axum::extract::State;
use axum::Json;
use kassa::api::{CreateWebhookEndpointRequest, Data, DeliveryAttempt, DeliveryQueued, Event, EventFilters, Page, WebhookEndpoint};
use kassa::id::{DeliveryId, WebhookEndpointId};
use serde_json::json;

use super::context::RequestCtx;
use super::error::ApiResult;
use super::extract::{ApiQuery, JsonBody, PathId, PathIds};
use super::idempotency::Recorded;
use crate::state::AppState;
use crate::webhooks::{endpoints, events};

/// Register an endpoint; the response holds its signing secret, shown only this once.
#[utoipa::path(post, path = "/webhook-endpoints", tag = "webhooks", request_body = CreateWebhookEndpointRequest,
    responses((status = 201, body = crate::http::openapi::EndpointResponse), (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn create(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require_admin()?;
    let req: CreateWebhookEndpointRequest = body.parse()?;
    endpoints::create(r.ctx(&state), req).await
}

#[utoipa::path(get, path = "/webhook-endpoints", tag = "webhooks",
    responses((status = 200, body = crate::http::openapi::EndpointList)))]
pub async fn list(State(state): State<AppState>, r: RequestCtx) -> ApiResult<Json<Data<Vec<WebhookEndpoint>>>> {
    r.caller.require_admin()?;
    Ok(Json(Data { data: endpoints::list(&r.ctx(&state)).await? }))
}

#[utoipa::path(delete, path = "/webhook-endpoints/{id}", tag = "webhooks", params(("id" = WebhookEndpointId, Path, description = "The endpoint")),
    responses((status = 200, description = "Deleted"), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn delete(
    State(state): State<AppState>,
    r: RequestCtx,
    PathId(id): PathId<WebhookEndpointId>,
) -> ApiResult<Json<serde_json::Value>> {
    r.caller.require_admin()?;
    endpoints::delete(&r.ctx(&state), &id).await?;
    Ok(Json(json!({ "data": { "id": id, "deleted": true } })))
}

/// The latest delivery attempts to an endpoint, newest first.
#[utoipa::path(get, path = "/webhook-endpoints/{id}/deliveries", tag = "webhooks", params(("id" = WebhookEndpointId, Path, description = "The endpoint")),
    responses((status = 200, body = crate::http::openapi::AttemptList), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn deliveries(
    State(state): State<AppState>,
    r: RequestCtx,
    PathId(id): PathId<WebhookEndpointId>,
) -> ApiResult<Json<Data<Vec<DeliveryAttempt>>>> {
    r.caller.require_admin()?;
    Ok(Json(Data { data: endpoints::deliveries(&r.ctx(&state), &id).await? }))
}

/// Send a delivery again (a failed one, or one delivered that the receiver lost): it is queued
/// now, and its attempts are listed as before. One still being retried is left to its retries.
#[utoipa::path(post, path = "/webhook-endpoints/{id}/deliveries/{delivery}/retry", tag = "webhooks",
    params(("id" = WebhookEndpointId, Path, description = "The endpoint"), ("delivery" = DeliveryId, Path, description = "The delivery")),
    responses((status = 200, body = crate::http::openapi::DeliveryQueuedResponse), (status = 404, body = kassa::ErrorEnvelope),
              (status = 409, description = "The delivery is still being tried", body = kassa::ErrorEnvelope)))]
pub async fn send_again(
    State(state): State<AppState>,
    r: RequestCtx,
    PathIds(id, delivery): PathIds<WebhookEndpointId, DeliveryId>,
) -> ApiResult<Json<Data<DeliveryQueued>>> {
    r.caller.require_admin()?;
    Ok(Json(Data { data: endpoints::send_again(&r.ctx(&state), &id, &delivery).await? }))
}

/// Events, newest first.
#[utoipa::path(get, path = "/events", tag = "webhooks", params(EventFilters),
    responses((status = 200, body = crate::http::openapi::EventPage), (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn list_events(
    State(state): State<AppState>,
    r: RequestCtx,
    ApiQuery(filters): ApiQuery<EventFilters>,
) -> ApiResult<Json<Page<Event>>> {
    r.caller.require_admin()?;
    Ok(Json(events::list(&r.ctx(&state), &filters).await?))
}
