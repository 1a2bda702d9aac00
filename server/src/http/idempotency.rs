//! Idempotency: every POST may carry an `Idempotency-Key` header or a `clientRequestId` field.
//!
//! A replay returns the first response byte for byte; the same key with another request is
//! `DUPLICATE_REQUEST`; the same key while the first is still running is `DUPLICATE_REQUEST` with
//! `details.retryable`. The first response is saved by the handler in the same transaction as its
//! effect, so a request that changed something is always replayable, and one that failed before
//! changing anything may simply be sent again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kassa::id::MerchantId;
use kassa::ErrorCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::too_large;
use crate::state::AppState;
use crate::store::{idempotency, Tx};

pub const MAX_KEY_LEN: usize = 255;

/// The key a request runs under, for the handler to save its response with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    pub fingerprint: String,
}

/// Keys whose first request is running in this process.
#[derive(Default, Clone)]
pub struct InFlight(Arc<Mutex<HashSet<(MerchantId, String)>>>);

struct InFlightGuard {
    set: InFlight,
    entry: (MerchantId, String),
}

impl InFlight {
    fn claim(&self, merchant: &MerchantId, key: &str) -> Option<InFlightGuard> {
        let entry = (merchant.clone(), key.to_owned());
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(entry.clone()).then(|| InFlightGuard { set: self.clone(), entry })
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.set.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.entry);
    }
}

/// What the handler hands back: the status and exact bytes, saved with the key when there is one.
pub struct Recorded {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Recorded {
        Recorded { status, body: serde_json::to_vec(value).unwrap_or_default() }
    }

    pub fn error(error: &ApiError) -> Recorded {
        Recorded { status: error.status(), body: error.body_bytes() }
    }

    /// Saves this response under the request's key, inside the transaction of its effect.
    pub async fn save(&self, tx: &mut Tx, merchant: &MerchantId, key: Option<&IdempotencyKey>, now: i64) -> Result<(), sqlx::Error> {
        match key {
            Some(k) => idempotency::save(tx, merchant, &k.key, &k.fingerprint, self.status.as_u16(), &self.body, now).await,
            None => Ok(()),
        }
    }
}

impl IntoResponse for Recorded {
    fn into_response(self) -> Response {
        (self.status, [(header::CONTENT_TYPE, "application/json")], self.body).into_response()
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
    let bytes = match axum::body::to_bytes(body, super::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => return too_large().into_response(),
    };
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    let key = match request_key(parts.headers.get("idempotency-key"), parsed.as_ref()) {
        Ok(Some(key)) => key,
        Ok(None) => return next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(e) => return e.into_response(),
    };
    let fingerprint = fingerprint(parts.method.as_str(), parts.uri.path(), parsed.as_ref(), &bytes);

    let Some(_guard) = state.in_flight.claim(&caller.merchant_id, &key) else {
        return ApiError::new(ErrorCode::DuplicateRequest, "A request with this idempotency key is still in progress; retry shortly")
            .with_details(json!({ "retryable": true }))
            .into_response();
    };
    match idempotency::find(&state.store, &caller.merchant_id, &key).await {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(Some(stored)) if stored.fingerprint == fingerprint => {
            let mut response = Recorded {
                status: StatusCode::from_u16(stored.status_code).unwrap_or(StatusCode::OK),
                body: stored.body,
            }
            .into_response();
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return response;
        }
        Ok(Some(_)) => {
            return ApiError::new(
                ErrorCode::DuplicateRequest,
                "This idempotency key was already used for a different request",
            )
            .with_details(json!({ "retryable": false }))
            .into_response();
        }
        Ok(None) => {}
    }
    parts.extensions.insert(IdempotencyKey { key, fingerprint });
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn request_key(header: Option<&HeaderValue>, body: Option<&Value>) -> Result<Option<String>, ApiError> {
    let from_header = header
        .map(|h| h.to_str().map(str::to_owned).map_err(|_| ApiError::validation("Idempotency-Key", "Idempotency-Key must be visible ASCII")))
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
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        let field = if header.is_some() { "Idempotency-Key" } else { "clientRequestId" };
        return Err(ApiError::validation(field, format!("{field} must be 1 to {MAX_KEY_LEN} characters")));
    }
    Ok(Some(key))
}

/// What makes two requests "the same": method, path and the body as parsed JSON (key order and
/// white space do not matter; `clientRequestId` itself does not count).
fn fingerprint(method: &str, path: &str, body: Option<&Value>, raw: &Bytes) -> String {
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
    hex::encode(hasher.finalize())
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
