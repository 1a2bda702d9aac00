//! The webhook endpoints a merchant registers, and their deliveries. Managing them is the
//! merchant's own business: the face checks that the caller administers it (a secret key, or an
//! owner in the console) before it calls any of these.

use kassa::api::{CreateWebhookEndpointRequest, Data, DeliveryAttempt, DeliveryQueued, WebhookEndpoint, EVENT_TYPES};
use kassa::id::{DeliveryId, WebhookEndpointId};

use crate::clock::{format_ms, now_ms};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::idempotency::Recorded;
use crate::ids;
use crate::store::events::{self, SendAgain};

/// How many of an endpoint's latest attempts [`deliveries`] lists.
const ATTEMPTS_LISTED: u32 = 100;

/// Registers an endpoint for `req.events` (`["*"]` for all). Its URL is checked against
/// private, special-use and (outside test mode) loopback addresses. The reply (`201`, the endpoint
/// with its signing secret, shown only this once; it is kept sealed) is saved under the
/// request's idempotency key.
pub async fn create(ctx: Ctx<'_>, req: CreateWebhookEndpointRequest) -> ApiResult<Recorded> {
    super::check_url(&req.url, ctx.state.allow_loopback_webhooks).map_err(|why| ApiError::validation("url", why))?;
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
        format: req.format,
        secret: Some(secret.clone()),
        created_at: format_ms(now),
    };
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    let sealed = ctx.state.keyring.seal_text(&secret, &super::secret_context(&endpoint.id));
    ctx.state
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

/// The merchant's endpoints (not deleted), oldest first, without their secrets.
pub async fn list(ctx: &Ctx<'_>) -> ApiResult<Vec<WebhookEndpoint>> {
    let mut conn = ctx.state.store.reader().acquire().await?;
    Ok(events::endpoints(&mut conn, ctx.merchant).await?)
}

/// One of the merchant's endpoints, without its secret; a deleted one, or another merchant's, is
/// `NOT_FOUND`.
pub async fn get(ctx: &Ctx<'_>, id: &WebhookEndpointId) -> ApiResult<WebhookEndpoint> {
    list(ctx).await?.into_iter().find(|e| e.id == *id).ok_or_else(|| ApiError::not_found("webhook endpoint"))
}

/// Deletes an endpoint: nothing more is sent to it. One deleted already is `NOT_FOUND`.
pub async fn delete(ctx: &Ctx<'_>, id: &WebhookEndpointId) -> ApiResult<()> {
    let (merchant, id) = (ctx.merchant.clone(), id.clone());
    ctx.state
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
        .await
}

/// The latest delivery attempts to an endpoint, newest first.
pub async fn deliveries(ctx: &Ctx<'_>, id: &WebhookEndpointId) -> ApiResult<Vec<DeliveryAttempt>> {
    let mut conn = ctx.state.store.reader().acquire().await?;
    if !events::endpoints(&mut conn, ctx.merchant).await?.iter().any(|e| e.id == *id) {
        return Err(ApiError::not_found("webhook endpoint"));
    }
    Ok(events::attempts(&mut conn, ctx.merchant, id, ATTEMPTS_LISTED).await?)
}

/// Sends a delivery again (a failed one, or one delivered that the receiver lost): it is queued
/// now, and its attempts are listed as before. One still being retried is left to its retries
/// (`INVALID_STATE`).
pub async fn send_again(ctx: &Ctx<'_>, endpoint: &WebhookEndpointId, delivery: &DeliveryId) -> ApiResult<DeliveryQueued> {
    let (merchant, endpoint, queued) = (ctx.merchant.clone(), endpoint.clone(), delivery.clone());
    match ctx
        .state
        .store
        .write(move |tx| Box::pin(async move { events::send_again(tx, &merchant, &endpoint, &queued, now_ms()).await }))
        .await?
    {
        SendAgain::Queued => Ok(DeliveryQueued { id: delivery.clone(), status: "pending".into() }),
        SendAgain::StillTrying => Err(ApiError::invalid_state("This delivery is still being tried")),
        SendAgain::Unknown => Err(ApiError::not_found("delivery")),
    }
}
