//! Who is calling: the merchant and what its key may do. The merchant always comes from the key,
//! never from the request.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::state::AppState;
use crate::store::merchants::{self, StoredKey};
use kassa::ErrorCode;

pub use crate::merchants::{hash_key, Caller};

/// The key a request presents: `Authorization: Bearer <key>`, HTTP Basic with the key as the
/// user name (`curl -u sk_test_…:`, as Stripe's documents send it), or `X-API-Key`.
pub fn presented_key(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, credentials) = value.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(credentials.trim().to_owned());
        }
        if scheme.eq_ignore_ascii_case("basic") {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD.decode(credentials.trim()).ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, _password) = decoded.split_once(':').unwrap_or((&decoded, ""));
            return Some(user.to_owned());
        }
        return None;
    }
    headers.get("x-api-key")?.to_str().ok().map(|k| k.trim().to_owned())
}

async fn find_key(state: &AppState, key_hash: &str) -> Result<Option<std::sync::Arc<StoredKey>>, ApiError> {
    if let Some(found) = state.key_cache.get(key_hash) {
        return Ok(Some(found));
    }
    let found = merchants::find_key_by_hash(&state.store, key_hash).await?.map(std::sync::Arc::new);
    if let Some(key) = &found {
        state.key_cache.put(key.clone());
    }
    Ok(found)
}

/// Resolves the key (or else the console session) on every request under `/api/v1` and puts the
/// [`Caller`] in the request.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(key) = presented_key(req.headers()) else {
        // Without a key, a console session may stand in for one.
        return match super::console::session_caller(&state, req.method(), req.headers()).await {
            Some(Ok(caller)) => {
                req.extensions_mut().insert(caller);
                next.run(req).await
            }
            Some(Err(e)) => e.into_response(),
            None => ApiError::unauthenticated().into_response(),
        };
    };
    match key_caller(&state, &key).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
        }
        Err(e) => return e.into_response(),
    }
    next.run(req).await
}

/// Who holds `key`: a live key of the right kind, within its rate limit.
pub async fn key_caller(state: &AppState, key: &str) -> Result<Caller, ApiError> {
    let key_hash = hash_key(key);
    let found = find_key(state, &key_hash).await?;
    // The lookup is by hash; the comparison of what was found is constant-time all the same.
    let now = crate::clock::now_ms();
    let Some(stored) = found.filter(|k| bool::from(k.key_hash.as_bytes().ct_eq(key_hash.as_bytes())) && k.live(now)) else {
        return Err(ApiError::unauthenticated());
    };
    if !key.starts_with(stored.kind.prefix()) {
        return Err(ApiError::unauthenticated());
    }
    if let Err(wait) = state.rate_limiter.check(&stored.merchant_id, &stored.id, stored.kind).await {
        return Err(rate_limited(wait));
    }
    Ok(Caller::key(stored.id.clone(), stored.merchant_id.clone(), stored.kind, stored.permissions.clone()))
}

/// `RATE_LIMITED`, saying when to retry (the `Retry-After` header follows from the details).
pub fn rate_limited(wait: std::time::Duration) -> ApiError {
    ApiError::new(ErrorCode::RateLimited, "Too many requests; slow down and retry")
        .with_details(serde_json::json!({ "retryAfterSeconds": wait.as_secs() + 1 }))
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(ApiError::unauthenticated)
    }
}
