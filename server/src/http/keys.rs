//! API key routes (secret key or owner only): they check that the caller administers the
//! merchant, parse the body and hand over to [`crate::merchants::keys`].

use axum::extract::State;
use axum::Json;
use kassa::api::{ApiKey, CreateApiKeyRequest, Data, RollApiKeyRequest};
use kassa::id::ApiKeyId;

use super::context::RequestCtx;
use super::error::ApiResult;
use super::extract::{JsonBody, PathId};
use super::idempotency::Recorded;
use crate::merchants::keys;
use crate::state::AppState;

/// Create an API key (secret key only); the key is in this response and nowhere else.
#[utoipa::path(post, path = "/api-keys", tag = "keys",
    request_body = CreateApiKeyRequest,
    responses((status = 201, body = crate::http::openapi::KeyResponse),
              (status = 400, body = kassa::ErrorEnvelope), (status = 403, body = kassa::ErrorEnvelope)))]
pub async fn create(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require_admin()?;
    let req: CreateApiKeyRequest = body.parse()?;
    keys::create(r.ctx(&state), req).await
}

/// A merchant's keys (secret key only): names, kinds and hints, never the keys.
#[utoipa::path(get, path = "/api-keys", tag = "keys",
    responses((status = 200, body = crate::http::openapi::KeyList), (status = 403, body = kassa::ErrorEnvelope)))]
pub async fn list(State(state): State<AppState>, r: RequestCtx) -> ApiResult<Json<Data<Vec<ApiKey>>>> {
    r.caller.require_admin()?;
    Ok(Json(Data { data: keys::list(&r.ctx(&state)).await? }))
}

/// Revokes a key at once (secret key only). The key making the call cannot revoke itself: roll it.
#[utoipa::path(delete, path = "/api-keys/{id}", tag = "keys", params(("id" = ApiKeyId, Path, description = "The key")),
    responses((status = 200, body = crate::http::openapi::ApiKeyResponse), (status = 404, body = kassa::ErrorEnvelope),
              (status = 409, body = kassa::ErrorEnvelope)))]
pub async fn revoke(State(state): State<AppState>, r: RequestCtx, PathId(id): PathId<ApiKeyId>) -> ApiResult<Json<Data<ApiKey>>> {
    r.caller.require_admin()?;
    Ok(Json(Data { data: keys::revoke(&r.ctx(&state), &id).await? }))
}

/// Rolls a key (secret key only): a new key with the same kind, permissions and name, shown this
/// once; the old one keeps working for the grace period, then stops.
#[utoipa::path(post, path = "/api-keys/{id}/roll", tag = "keys", params(("id" = ApiKeyId, Path, description = "The key")),
    request_body = RollApiKeyRequest,
    responses((status = 201, body = crate::http::openapi::KeyResponse), (status = 400, body = kassa::ErrorEnvelope),
              (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn roll(State(state): State<AppState>, r: RequestCtx, PathId(id): PathId<ApiKeyId>, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require_admin()?;
    let req: RollApiKeyRequest = body.parse()?;
    keys::roll(r.ctx(&state), &id, req).await
}
