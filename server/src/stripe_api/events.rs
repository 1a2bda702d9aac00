//! `/v1/webhook_endpoints` (endpoints whose deliveries are Stripe's events, signed with
//! `Stripe-Signature`) and `/v1/events` — calls of `crate::webhooks::endpoints` and
//! `crate::webhooks::events`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kassa::api::{CreateWebhookEndpointRequest, Event, EventFilters, TransactionType, WebhookEndpoint, WebhookFormat};
use kassa::id::{EventId, PaymentIntentId, WebhookEndpointId};
use serde_json::{json, Value};

use super::form::{invalid, missing};
use super::objects::{self, seconds_of};
use super::wire::{self, STRIPE_EVENT_TYPES};
use super::{rendered, FaceRequest, FaceResult, DEFAULT_VERSION};
use crate::error::{ApiError, ApiResult};
use crate::http::context::RequestCtx;
use crate::state::AppState;
use crate::store::intents;
use crate::webhooks::endpoints;
use crate::webhooks::events;

fn no_such(kind: &str, id: &str) -> ApiError {
    super::form::no_such(kind, id, "id")
}

fn endpoint_object(endpoint: &WebhookEndpoint) -> Value {
    json!({
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "api_version": null,
        "application": null,
        "created": seconds_of(&endpoint.created_at),
        "description": null,
        "enabled_events": endpoint.events,
        "livemode": false,
        "metadata": {},
        "secret": endpoint.secret,
        "status": if endpoint.enabled { "enabled" } else { "disabled" },
        "url": endpoint.url,
    })
}

/// The endpoint a create answered, with its secret (shown this once).
pub fn render_endpoint(data: &Value) -> ApiResult<Value> {
    let endpoint: WebhookEndpoint = serde_json::from_value(data.clone()).map_err(ApiError::internal)?;
    Ok(endpoint_object(&endpoint))
}

pub async fn create_endpoint(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    r.caller.require_admin()?;
    let p = &f.params;
    p.only(&["url", "enabled_events", "api_version", "expand"])?;
    // Taken for Stripe's clients, and not used: the events are written in the face's version.
    p.text("api_version")?;
    let events = p.strings("enabled_events")?;
    if events.is_empty() {
        return Err(missing("enabled_events"));
    }
    if let Some(unknown) = events.iter().find(|e| *e != "*" && !STRIPE_EVENT_TYPES.contains(&e.as_str())) {
        return Err(invalid(
            "enabled_events",
            "parameter_invalid_string",
            format!("Kassa sends no {unknown} events; enabled_events takes `*` or some of: {}", STRIPE_EVENT_TYPES.join(", ")),
        ));
    }
    let req = CreateWebhookEndpointRequest {
        url: p.required_text("url")?,
        events,
        enabled: true,
        format: WebhookFormat::Stripe,
        client_request_id: None,
    };
    Ok(endpoints::create(r.ctx(&state), req).await?.into_response())
}

fn endpoint_id(id: &str) -> ApiResult<WebhookEndpointId> {
    id.parse().map_err(|_| no_such("webhook_endpoint", id))
}

pub async fn retrieve_endpoint(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require_admin()?;
    f.params.only(&["expand"])?;
    let endpoint = endpoints::get(&r.ctx(&state), &endpoint_id(&id)?).await.map_err(|_| no_such("webhook_endpoint", &id))?;
    Ok(rendered(StatusCode::OK, endpoint_object(&endpoint)))
}

pub async fn list_endpoints(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    r.caller.require_admin()?;
    f.params.only(&["limit", "starting_after", "ending_before"])?;
    let all = endpoints::list(&r.ctx(&state)).await?;
    let limit = super::form::limit(&f.params)? as usize;
    // Newest first, as Stripe lists them.
    let all: Vec<&WebhookEndpoint> = all.iter().rev().collect();
    let position = |name: &str| -> ApiResult<Option<usize>> {
        let Some(id) = f.params.text(name)? else { return Ok(None) };
        // A cursor that is not in the list is a bad parameter (400), as in every other list.
        all.iter()
            .position(|e| e.id.as_str() == id)
            .map(Some)
            .ok_or_else(|| invalid(name, "resource_missing", format!("No such webhook_endpoint: '{id}'")))
    };
    let (start, end, has_more) = match (position("starting_after")?, position("ending_before")?) {
        (Some(after), _) => (after + 1, (after + 1 + limit).min(all.len()), after + 1 + limit < all.len()),
        (None, Some(before)) => (before.saturating_sub(limit), before, before > limit),
        (None, None) => (0, limit.min(all.len()), limit < all.len()),
    };
    let data = all[start..end].iter().copied().map(endpoint_object).collect();
    Ok(rendered(StatusCode::OK, objects::list("/v1/webhook_endpoints", data, has_more)))
}

pub async fn delete_endpoint(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require_admin()?;
    f.params.only(&[])?;
    endpoints::delete(&r.ctx(&state), &endpoint_id(&id)?).await.map_err(|_| no_such("webhook_endpoint", &id))?;
    Ok(rendered(StatusCode::OK, json!({ "id": id, "object": "webhook_endpoint", "deleted": true })))
}

/// The Charge a payment's latest authorization attempt is, for an event's objects.
pub async fn latest_charge(state: &AppState, merchant: &kassa::id::MerchantId, event: &Event) -> ApiResult<Option<String>> {
    let Some(id) = event.data["object"]["id"].as_str().and_then(|id| id.parse::<PaymentIntentId>().ok()) else { return Ok(None) };
    let calls = intents::list_transactions(&state.store, merchant, &id).await?;
    Ok(calls.iter().rev().find(|t| t.kind == TransactionType::Authorize).map(|t| wire::charge_id(&t.id)))
}

pub async fn retrieve(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require_admin()?;
    f.params.only(&["expand"])?;
    let event_id: EventId = id.parse().map_err(|_| no_such("event", &id))?;
    let event = events::get(&r.ctx(&state), &event_id).await.map_err(|_| no_such("event", &id))?;
    let charge = latest_charge(&state, &r.caller.merchant_id, &event).await?;
    let object = wire::event(&event, charge.as_deref(), DEFAULT_VERSION).ok_or_else(|| no_such("event", &id))?;
    Ok(rendered(StatusCode::OK, object))
}

pub async fn list(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    r.caller.require_admin()?;
    let p = &f.params;
    p.only(&["type", "limit", "starting_after", "created"])?;
    let kind = p.text("type")?;
    // Every parameter is read before a type Kassa does not send answers an empty list, so that a
    // bad one is refused, not passed over.
    let limit = super::form::limit(p)?;
    let mut cursor = p.text("starting_after")?;
    let (from, to) = super::form::created_range(p)?;
    if let Some(kind) = &kind {
        if !STRIPE_EVENT_TYPES.contains(&kind.as_str()) {
            return Ok(rendered(StatusCode::OK, objects::list("/v1/events", Vec::new(), false)));
        }
    }
    let created_within = |event: &Event| {
        let at = crate::clock::parse_filter_date(&event.created_at, crate::clock::RangeEnd::From).unwrap_or(0);
        from.is_none_or(|from| at >= from) && to.is_none_or(|to| at < to)
    };
    let ctx = r.ctx(&state);
    let mut data = Vec::new();
    // Events Stripe has no type for (an order paid), and those outside `created`, are passed over:
    // the page reads on, ten pages at most (the page is shorter then, and says there is more).
    let mut pages = 0;
    let has_more = loop {
        pages += 1;
        let page =
            events::list(&ctx, &EventFilters { kind: kind.clone(), cursor: cursor.clone(), limit: Some(limit) }).await.map_err(|e| {
                if e.code == kassa::ErrorCode::ValidationError {
                    invalid("starting_after", "resource_missing", "No such event")
                } else {
                    e
                }
            })?;
        let shown: Vec<Event> =
            page.data.into_iter().filter(|e| STRIPE_EVENT_TYPES.contains(&e.kind.as_str()) && created_within(e)).collect();
        let mut taken = 0;
        for event in &shown {
            if data.len() >= limit as usize {
                break;
            }
            let charge = latest_charge(&state, &r.caller.merchant_id, event).await?;
            data.extend(wire::event(event, charge.as_deref(), DEFAULT_VERSION));
            taken += 1;
        }
        if data.len() >= limit as usize {
            break taken < shown.len() || page.meta.has_more;
        }
        if !page.meta.has_more {
            break false;
        }
        // (A page keeps reading while it has nothing to show, so that a client paging on always
        // has an item to page from.)
        if pages >= 10 && !data.is_empty() {
            break true;
        }
        cursor = page.meta.cursor;
    };
    Ok(rendered(StatusCode::OK, objects::list("/v1/events", data, has_more)))
}
