use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use kassa::api::{CreateApiKeyRequest, Data, KeyKind};

use super::context::RequestCtx;
use super::error::{ApiError, ApiResult};
use super::extract::parse_json;
use super::idempotency::Recorded;
use crate::clock::now_ms;
use crate::merchants::issue_key;
use crate::state::AppState;

/// Create an API key (secret key only); the key is in this response and nowhere else.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "keys",
    request_body = CreateApiKeyRequest,
    responses((status = 201, body = crate::http::openapi::KeyResponse),
              (status = 400, body = kassa::ErrorEnvelope), (status = 403, body = kassa::ErrorEnvelope)))]
pub async fn create(State(state): State<AppState>, r: RequestCtx, body: Bytes) -> ApiResult<Recorded> {
    r.caller.require_secret()?;
    let req: CreateApiKeyRequest = parse_json(&body)?;
    match req.kind {
        KeyKind::Restricted if req.permissions.is_empty() => {
            return Err(ApiError::validation("permissions", "A restricted key needs at least one permission"))
        }
        KeyKind::Secret | KeyKind::Publishable if !req.permissions.is_empty() => {
            return Err(ApiError::validation("permissions", "Only a restricted key takes permissions"))
        }
        _ => {}
    }
    if req.name.as_ref().is_some_and(|n| n.len() > 255) {
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
                let response = Recorded::json(StatusCode::CREATED, &Data { data: created });
                response.save(tx, &merchant, key.as_ref(), now_ms()).await?;
                Ok(response)
            })
        })
        .await
}
