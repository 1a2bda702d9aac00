//! Webhook endpoints, their delivery attempts, and the events list.

use axum::extract::State;
use axum::Json;
use kassa::api::{
    CreateWebhookEndpointRequest, Data, DeliveryAttempt, DeliveryQueued, Event, Page, PageMeta, WebhookEndpoint, EVENT_TYPES,
    PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX,
};
use kassa::id::{DeliveryId, EventId, WebhookEndpointId};
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use super::context::RequestCtx;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiQuery, JsonBody, PathId, PathIds};
use super::idempotency::Recorded;
use crate::clock::{format_ms, now_ms};
use crate::ids;
use crate::state::AppState;
use crate::store::events::{self, SendAgain};

/// Register an endpoint; the response holds its signing secret, shown only this once.
#[utoipa::path(post, path = "/webhook-endpoints", tag = "webhooks", request_body = CreateWebhookEndpointRequest,
    responses((status = 201, body = crate::http::openapi::EndpointResponse), (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn create(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require_admin()?;
    let req: CreateWebhookEndpointRequest = body.parse()?;
    crate::webhooks::check_url(&req.url, state.allow_loopback_webhooks).map_err(|why| ApiError::validation("url", why))?;
    if req.events.is_empty() || req.events.iter().any(|e| e != "*" && !EVENT_TYPES.contains(&e.as_str())) {
        return Err(ApiError::validation("events", format!("events lists `*` or some of: {}", EVENT_TYPES.join(", "))));
    }
    let now = now_ms();
    let secret = ids::secret("whsec_");
    let endpoint = WebhookEndpoint {
        id: ids::new::<WebhookEndpointId>(),
        url: req.url,
        events: req.events,
        enabled: req.enabled,
        secret: Some(secret.clone()),
        created_at: format_ms(now),
    };
    let (merchant, key) = (r.caller.merchant_id.clone(), r.key.clone());
    let sealed = state.keyring.seal_text(&secret, &crate::webhooks::secret_context(&endpoint.id));
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                events::insert_endpoint(tx, &merchant, &endpoint, &sealed, now).await?;
                let response = Recorded::created(&Data { data: endpoint });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

#[utoipa::path(get, path = "/webhook-endpoints", tag = "webhooks",
    responses((status = 200, body = crate::http::openapi::EndpointList)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Data<Vec<WebhookEndpoint>>>> {
    caller.require_admin()?;
    let mut conn = state.store.reader().acquire().await?;
    Ok(Json(Data { data: events::endpoints(&mut conn, &caller.merchant_id).await? }))
}

#[utoipa::path(delete, path = "/webhook-endpoints/{id}", tag = "webhooks", params(("id" = WebhookEndpointId, Path, description = "The endpoint")),
    responses((status = 200, description = "Deleted"), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId<WebhookEndpointId>,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require_admin()?;
    let (merchant, removed) = (caller.merchant_id.clone(), id.clone());
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if events::delete_endpoint(tx, &merchant, &id, now_ms()).await? {
                    Ok(())
                } else {
                    Err(ApiError::not_found("webhook endpoint"))
                }
            })
        })
        .await?;
    Ok(Json(json!({ "data": { "id": removed, "deleted": true } })))
}

/// The latest delivery attempts to an endpoint, newest first.
#[utoipa::path(get, path = "/webhook-endpoints/{id}/deliveries", tag = "webhooks", params(("id" = WebhookEndpointId, Path, description = "The endpoint")),
    responses((status = 200, body = crate::http::openapi::AttemptList), (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId<WebhookEndpointId>,
) -> ApiResult<Json<Data<Vec<DeliveryAttempt>>>> {
    caller.require_admin()?;
    let mut conn = state.store.reader().acquire().await?;
    if !events::endpoints(&mut conn, &caller.merchant_id).await?.iter().any(|e| e.id == id) {
        return Err(ApiError::not_found("webhook endpoint"));
    }
    Ok(Json(Data { data: events::attempts(&mut conn, &caller.merchant_id, &id, 100).await? }))
}

/// Send a delivery again (a failed one, or one delivered that the receiver lost): it is queued
/// now, and its attempts are listed as before. One still being retried is left to its retries.
#[utoipa::path(post, path = "/webhook-endpoints/{id}/deliveries/{delivery}/retry", tag = "webhooks",
    params(("id" = WebhookEndpointId, Path, description = "The endpoint"), ("delivery" = DeliveryId, Path, description = "The delivery")),
    responses((status = 200, body = crate::http::openapi::DeliveryQueuedResponse), (status = 404, body = kassa::ErrorEnvelope),
              (status = 409, description = "The delivery is still being tried", body = kassa::ErrorEnvelope)))]
pub async fn send_again(
    State(state): State<AppState>,
    caller: Caller,
    PathIds(id, delivery): PathIds<WebhookEndpointId, DeliveryId>,
) -> ApiResult<Json<Data<DeliveryQueued>>> {
    caller.require_admin()?;
    let (merchant, endpoint, queued) = (caller.merchant_id.clone(), id.clone(), delivery.clone());
    match state
        .store
        .write(move |tx| Box::pin(async move { events::send_again(tx, &merchant, &endpoint, &queued, now_ms()).await }))
        .await?
    {
        SendAgain::Queued => Ok(Json(Data { data: DeliveryQueued { id: delivery, status: "pending".into() } })),
        SendAgain::StillTrying => Err(ApiError::invalid_state("This delivery is still being tried")),
        SendAgain::Unknown => Err(ApiError::not_found("delivery")),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// Events, newest first.
#[utoipa::path(get, path = "/events", tag = "webhooks", params(EventQuery),
    responses((status = 200, body = crate::http::openapi::EventPage), (status = 400, body = kassa::ErrorEnvelope)))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> ApiResult<Json<Page<Event>>> {
    caller.require_admin()?;
    let limit = query.limit.unwrap_or(PAGE_LIMIT_DEFAULT);
    if !(1..=PAGE_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::validation("limit", format!("limit must be between 1 and {PAGE_LIMIT_MAX}")));
    }
    let mut conn = state.store.reader().acquire().await?;
    let after = match &query.cursor {
        Some(cursor) => {
            let id: EventId = cursor.parse().map_err(|_| ApiError::validation("cursor", "cursor is not one this API gave"))?;
            if !events::event_exists(&mut conn, &caller.merchant_id, &id).await? {
                return Err(ApiError::validation("cursor", "cursor is not one this API gave"));
            }
            Some(id)
        }
        None => None,
    };
    let (data, has_more) = events::list(&mut conn, &caller.merchant_id, query.kind.as_deref(), after.as_ref(), limit).await?;
    let cursor = if has_more { data.last().map(|e| e.id.to_string()) } else { None };
    Ok(Json(Page { data, meta: PageMeta { cursor, has_more } }))
}
