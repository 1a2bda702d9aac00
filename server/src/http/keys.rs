use axum::extract::State;
use axum::Json;
use kassa::api::{ApiKey, CreateApiKeyRequest, Data, KeyKind, RollApiKeyRequest};
use kassa::id::ApiKeyId;

use super::auth::Caller;
use super::context::RequestCtx;
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, PathId};
use super::idempotency::Recorded;
use crate::clock::now_ms;
use crate::merchants::issue_key;
use crate::state::AppState;
use crate::store::merchants;

/// Create an API key (secret key only); the key is in this response and nowhere else.
#[utoipa::path(post, path = "/api-keys", tag = "keys",
    request_body = CreateApiKeyRequest,
    responses((status = 201, body = crate::http::openapi::KeyResponse),
              (status = 400, body = kassa::ErrorEnvelope), (status = 403, body = kassa::ErrorEnvelope)))]
pub async fn create(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require_admin()?;
    let req: CreateApiKeyRequest = body.parse()?;
    match req.kind {
        KeyKind::Restricted if req.permissions.is_empty() => {
            return Err(ApiError::validation("permissions", "A restricted key needs at least one permission"))
        }
        KeyKind::Secret | KeyKind::Publishable if !req.permissions.is_empty() => {
            return Err(ApiError::validation("permissions", "Only a restricted key takes permissions"))
        }
        _ => {}
    }
    if req.name.as_ref().is_some_and(|n| n.chars().count() > 255) {
        return Err(ApiError::validation("name", "name must be at most 255 characters"));
    }
    let mut permissions = req.permissions.clone();
    permissions.dedup();
    let (merchant, key) = (r.caller.merchant_id.clone(), r.key.clone());
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                let created = issue_key(tx, &merchant, req.kind, &permissions, req.name.as_deref()).await?;
                let response = Recorded::created(&Data { data: created });
                response.save(tx, &merchant, key.as_ref(), now_ms()).await?;
                Ok(response)
            })
        })
        .await
}

/// A merchant's keys (secret key only): names, kinds and hints, never the keys.
#[utoipa::path(get, path = "/api-keys", tag = "keys",
    responses((status = 200, body = crate::http::openapi::KeyList), (status = 403, body = kassa::ErrorEnvelope)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Data<Vec<ApiKey>>>> {
    caller.require_admin()?;
    Ok(Json(Data { data: merchants::list_keys(&state.store, &caller.merchant_id).await? }))
}

/// Revokes a key at once (secret key only). The key making the call cannot revoke itself: roll it.
#[utoipa::path(delete, path = "/api-keys/{id}", tag = "keys", params(("id" = ApiKeyId, Path, description = "The key")),
    responses((status = 200, body = crate::http::openapi::ApiKeyResponse), (status = 404, body = kassa::ErrorEnvelope),
              (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn revoke(State(state): State<AppState>, caller: Caller, PathId(id): PathId<ApiKeyId>) -> ApiResult<Json<Data<ApiKey>>> {
    caller.require_admin()?;
    if caller.key_id() == Some(&id) {
        return Err(ApiError::invalid_state("A key cannot revoke itself; roll it, or revoke it with another secret key"));
    }
    let (merchant, revoked) = (caller.merchant_id.clone(), id.clone());
    let done = state.store.write(move |tx| Box::pin(async move { merchants::revoke_key(tx, &merchant, &revoked, now_ms()).await })).await?;
    if !done {
        return Err(ApiError::not_found("API key"));
    }
    state.key_cache.forget(&id);
    let key = merchants::find_key(&state.store, &caller.merchant_id, &id).await?.ok_or_else(|| ApiError::not_found("API key"))?;
    Ok(Json(Data { data: key }))
}

use kassa::api::ROLL_GRACE_MAX_SECONDS as MAX_GRACE_SECONDS;

/// Rolls a key (secret key only): a new key with the same kind, permissions and name, shown this
/// once; the old one keeps working for the grace period, then stops.
#[utoipa::path(post, path = "/api-keys/{id}/roll", tag = "keys", params(("id" = ApiKeyId, Path, description = "The key")),
    request_body = RollApiKeyRequest,
    responses((status = 201, body = crate::http::openapi::KeyResponse), (status = 400, body = kassa::ErrorEnvelope),
              (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn roll(State(state): State<AppState>, r: RequestCtx, PathId(id): PathId<ApiKeyId>, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require_admin()?;
    let req: RollApiKeyRequest = body.parse()?;
    let grace = req.expires_in_seconds.unwrap_or(3600);
    if grace > MAX_GRACE_SECONDS {
        return Err(ApiError::validation("expiresInSeconds", format!("expiresInSeconds must be 0 to {MAX_GRACE_SECONDS}")));
    }
    let old = merchants::find_key(&state.store, &r.caller.merchant_id, &id).await?.ok_or_else(|| ApiError::not_found("API key"))?;
    let (merchant, key, old_id) = (r.caller.merchant_id.clone(), r.key.clone(), id.clone());
    let now = now_ms();
    let response = state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if !merchants::expire_key(tx, &merchant, &old_id, now + i64::from(grace) * 1000, now).await? {
                    return Err(ApiError::invalid_state("This key is revoked or expired; create a new one instead"));
                }
                let created = issue_key(tx, &merchant, old.kind, &old.permissions, old.name.as_deref()).await?;
                let response = Recorded::created(&Data { data: created });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await?;
    state.key_cache.forget(&id);
    Ok(response)
}
