//! Idempotency: every POST may carry an `Idempotency-Key` header or a `clientRequestId` field.
//!
//! A replay returns the first response byte for byte; the same key with another request is
//! `DUPLICATE_REQUEST`; the same key while the first is still running is `DUPLICATE_REQUEST` with
//! `details.retryable`. Keys are scoped to the API key that sent them: another key of the same
//! merchant with the same idempotency key makes its own request.
//!
//! The first response is saved, sealed, by the handler in the same transaction as its effect, so a
//! request that changed something is always replayable, and one that failed before changing
//! anything may simply be sent again. A money-moving request claims its key in the database
//! before it calls the processor (`running`), so two servers never both run it; when a crash
//! leaves it running, the reconciler records its outcome and a retry replays that — unless the
//! processor never received the call: then the retry sends it, under the same claim.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kassa::ErrorCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::too_large;
use crate::clock::now_ms;
pub use crate::idempotency::{seal_context, still_running, IdempotencyKey, Recorded, FINGERPRINT, KEEP_MS, LOCK_TTL_MS, MAX_KEY_LEN};
use crate::state::AppState;
use crate::store::idempotency::{self, Stored};

impl IntoResponse for Recorded {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, [(header::CONTENT_TYPE, "application/json")], self.body).into_response()
    }
}

/// Middleware for every route under `/api/v1`, after authentication.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, super::extract::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => return too_large().into_response(),
    };
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    let key = match request_key(parts.headers.get("idempotency-key"), parsed.as_ref()) {
        Ok(Some(key)) => key,
        Ok(None) => return next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(e) => return e.into_response(),
    };
    let digest = request_digest(parts.method.as_str(), parts.uri.path(), parsed.as_ref(), &bytes);
    let mut key = IdempotencyKey {
        merchant: caller.merchant_id.clone(),
        scope: caller.scope().to_owned(),
        fingerprint: state.keyring.mac(FINGERPRINT, &digest),
        key,
        keyring: state.keyring.clone(),
    };

    let Some(_guard) = state.in_flight.claim(&key.scope, &key.key) else {
        return still_running().into_response();
    };
    let different = || {
        ApiError::new(ErrorCode::DuplicateRequest, "This idempotency key was already used for a different request")
            .with_details(json!({ "retryable": false }))
            .into_response()
    };
    let stored = idempotency::find(&state.store, &key.owner()).await;
    // A fingerprint made under an older encryption key is the same request's too: it is kept as
    // stored, so that the database's own comparisons of the claim see the same value.
    if let Ok(Some(Stored::Done { fingerprint, .. } | Stored::Running { fingerprint, .. })) = &stored {
        if *fingerprint != key.fingerprint && state.keyring.mac_matches(FINGERPRINT, &digest, fingerprint) {
            key.fingerprint = fingerprint.clone();
        }
    }
    match stored {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(Some(Stored::Done { fingerprint, status_code, sealed_body })) if fingerprint == key.fingerprint => {
            // A call the processor never received is sent again, and answered with its outcome.
            if status_code == ErrorCode::ProviderError.http_status() {
                let session = parts.headers.get(super::extract::SESSION_HEADER).and_then(|v| v.to_str().ok());
                match crate::payments::retry_unsent(&state, &key, &caller, session).await {
                    Ok(Some(reply)) => return reply.into_response(),
                    Ok(None) => {}
                    Err(e) => return e.into_response(),
                }
            }
            let body = match state.keyring.open(&sealed_body, seal_context(&key.owner()).as_bytes()) {
                Ok(body) => body,
                Err(e) => return ApiError::internal(e).into_response(),
            };
            let mut response = Recorded { status: status_code, body }.into_response();
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return response;
        }
        Ok(Some(Stored::Done { .. })) => return different(),
        Ok(Some(Stored::Running { fingerprint, .. })) if fingerprint != key.fingerprint => return different(),
        Ok(Some(Stored::Running { locked_at, .. })) if locked_at >= now_ms() - LOCK_TTL_MS => return still_running().into_response(),
        // Nothing yet, or a stale claim that the handler may take over.
        Ok(_) => {}
    }
    parts.extensions.insert(key);
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn request_key(header: Option<&HeaderValue>, body: Option<&Value>) -> Result<Option<String>, ApiError> {
    let from_header = header
        .map(|h| {
            h.to_str().map(str::to_owned).map_err(|_| ApiError::validation("Idempotency-Key", "Idempotency-Key must be visible ASCII"))
        })
        .transpose()?;
    let from_body = match body.and_then(|b| b.get("clientRequestId")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ApiError::validation("clientRequestId", "clientRequestId must be a string")),
    };
    let key = match (from_header, from_body) {
        (Some(h), Some(b)) if h != b => {
            return Err(ApiError::validation(
                "clientRequestId",
                "clientRequestId and the Idempotency-Key header differ; send one, or the same value in both",
            ))
        }
        (Some(k), _) | (None, Some(k)) => k,
        (None, None) => return Ok(None),
    };
    if key.is_empty() || key.chars().count() > MAX_KEY_LEN {
        let field = if header.is_some() { "Idempotency-Key" } else { "clientRequestId" };
        return Err(ApiError::validation(field, format!("{field} must be 1 to {MAX_KEY_LEN} characters")));
    }
    Ok(Some(key))
}

/// What makes two requests "the same": method, path and the body as parsed JSON (key order and
/// white space do not matter; `clientRequestId` itself does not count). The body may hold a card
/// number and CVC, so this digest is never stored as it is: only its keyed digest under the
/// server's keys ([`FINGERPRINT`]), which cannot be brute-forced from the database alone.
fn request_digest(method: &str, path: &str, body: Option<&Value>, raw: &Bytes) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    match body {
        Some(Value::Object(map)) => {
            let mut map = map.clone();
            map.remove("clientRequestId");
            canonical(&Value::Object(map), &mut hasher);
        }
        Some(other) => canonical(other, &mut hasher),
        None => hasher.update(raw),
    }
    hasher.finalize().into()
}

/// Feeds a JSON value to the hasher with object keys sorted, whatever order the map keeps.
fn canonical(value: &Value, hasher: &mut Sha256) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            hasher.update(b"{");
            for key in keys {
                hasher.update(Value::String(key.clone()).to_string().as_bytes());
                hasher.update(b":");
                canonical(&map[key], hasher);
                hasher.update(b",");
            }
            hasher.update(b"}");
        }
        Value::Array(items) => {
            hasher.update(b"[");
            for item in items {
                canonical(item, hasher);
                hasher.update(b",");
            }
            hasher.update(b"]");
        }
        scalar => hasher.update(scalar.to_string().as_bytes()),
    }
}
