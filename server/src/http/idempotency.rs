//! Idempotency: every POST may carry an `Idempotency-Key` header, a `clientRequestId` field, or
//! both. Two different keys name one request: it runs once, under the key that already names a
//! request, or else under the header's, and the other is recorded as another name of it before it
//! runs, so that a retry under either key (or both) replays it. Keys that already name two
//! different requests are `DUPLICATE_REQUEST`.
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
use crate::store::idempotency::{self, Owner, Stored};

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
    let keys = match request_keys(parts.headers.get("idempotency-key"), parsed.as_ref()) {
        Ok(keys) if keys.is_empty() => return next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Ok(keys) => keys,
        Err(e) => return e.into_response(),
    };
    let digest = request_digest(parts.method.as_str(), parts.uri.path(), parsed.as_ref(), &bytes);
    let scope = caller.scope().to_owned();
    // On this server, one request at a time under any of its names.
    let mut guards = Vec::new();
    let mut guard = |key: &str| match state.in_flight.claim(&scope, key) {
        Some(g) => {
            guards.push(g);
            true
        }
        None => false,
    };
    if !keys.iter().all(|k| guard(k)) {
        return still_running().into_response();
    }
    let names = match Names::resolve(&state, &caller.merchant_id, &scope, &keys).await {
        Ok(names) => names,
        Err(e) => return e.into_response(),
    };
    if names.aliases.iter().chain([&names.key]).any(|k| !keys.contains(k) && !guard(k)) {
        return still_running().into_response();
    }
    let mut key = IdempotencyKey {
        merchant: caller.merchant_id.clone(),
        scope,
        fingerprint: state.keyring.mac(FINGERPRINT, &digest),
        key: names.key,
        keyring: state.keyring.clone(),
    };

    let different = || {
        ApiError::new(ErrorCode::DuplicateRequest, "This idempotency key was already used for a different request")
            .with_details(json!({ "retryable": false }))
            .into_response()
    };
    let stored = names.stored;
    // A fingerprint made under an older encryption key is the same request's too: it is kept as
    // stored, so that the database's own comparisons of the claim see the same value.
    if let Some(Stored::Done { fingerprint, .. } | Stored::Running { fingerprint, .. }) = &stored {
        if *fingerprint != key.fingerprint && state.keyring.mac_matches(FINGERPRINT, &digest, fingerprint) {
            key.fingerprint = fingerprint.clone();
        }
    }
    match stored {
        Some(Stored::Done { fingerprint, status_code, sealed_body }) if fingerprint == key.fingerprint => {
            if let Err(e) = name_also(&state, &key, names.aliases).await {
                return e.into_response();
            }
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
        Some(Stored::Done { .. }) => return different(),
        Some(Stored::Running { fingerprint, .. }) if fingerprint != key.fingerprint => return different(),
        Some(Stored::Running { locked_at, .. }) if locked_at >= now_ms() - LOCK_TTL_MS => return still_running().into_response(),
        // Nothing yet, or a stale claim that the handler may take over.
        _ => {}
    }
    if let Err(e) = name_also(&state, &key, names.aliases).await {
        return e.into_response();
    }
    parts.extensions.insert(key);
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The keys a request is sent with, the header's first: none, one, or two different ones.
fn request_keys(header: Option<&HeaderValue>, body: Option<&Value>) -> Result<Vec<String>, ApiError> {
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
    let mut keys = Vec::new();
    for (field, key) in [("Idempotency-Key", from_header), ("clientRequestId", from_body)] {
        let Some(key) = key else { continue };
        if key.is_empty() || key.chars().count() > MAX_KEY_LEN {
            return Err(ApiError::validation(field, format!("{field} must be 1 to {MAX_KEY_LEN} characters")));
        }
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// How many other names a key may be followed through before the request is refused. Each name
/// points at a key that had no request of its own when it was made, so a chain is short.
const MOST_NAMES: usize = 8;

/// The one key a request runs under, what is stored under it, and the request's other keys, which
/// are to name it.
struct Names {
    key: String,
    stored: Option<Stored>,
    aliases: Vec<String>,
}

impl Names {
    /// Follows each of `keys` to the key it names. Two keys that name two stored requests are
    /// `DUPLICATE_REQUEST`; otherwise the request is the one stored (or, when none is, the
    /// header's key's), and every other key is made another name of it.
    async fn resolve(state: &AppState, merchant: &kassa::id::MerchantId, scope: &str, keys: &[String]) -> Result<Names, ApiError> {
        let mut found: Vec<(String, Option<Stored>)> = Vec::new();
        for key in keys {
            let mut key = key.clone();
            let mut hops = 0;
            let stored = loop {
                match idempotency::find(&state.store, &Owner { merchant, scope, key: &key }).await? {
                    Some(Stored::Alias { target }) if hops < MOST_NAMES => {
                        key = target;
                        hops += 1;
                    }
                    Some(Stored::Alias { .. }) => {
                        return Err(ApiError::new(ErrorCode::DuplicateRequest, "This idempotency key names too many others; send another")
                            .with_details(json!({ "retryable": false })))
                    }
                    stored => break stored,
                }
            };
            found.push((key, stored));
        }
        let mut requests = found.iter().filter(|(_, stored)| stored.is_some()).map(|(key, _)| key);
        let first = requests.next().cloned();
        if requests.any(|key| Some(key) != first.as_ref()) {
            return Err(ApiError::new(
                ErrorCode::DuplicateRequest,
                "The Idempotency-Key header and clientRequestId name two different requests",
            )
            .with_details(json!({ "retryable": false })));
        }
        let key = first.unwrap_or_else(|| found[0].0.clone());
        let mut aliases: Vec<String> = found.iter().map(|(k, _)| k.clone()).filter(|k| *k != key).collect();
        aliases.dedup();
        let stored = found.into_iter().find(|(k, _)| *k == key).and_then(|(_, stored)| stored);
        Ok(Names { key, stored, aliases })
    }
}

/// Makes each of `aliases` another name of the request `key` names, before it runs (or is
/// replayed), so that a retry under any of them finds it. A name another request took meanwhile
/// makes this one wait and retry.
async fn name_also(state: &AppState, key: &IdempotencyKey, aliases: Vec<String>) -> Result<(), ApiError> {
    if aliases.is_empty() {
        return Ok(());
    }
    let (merchant, scope, target, fingerprint) = (key.merchant.clone(), key.scope.clone(), key.key.clone(), key.fingerprint.clone());
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                let now = now_ms();
                for alias in &aliases {
                    if !idempotency::alias(tx, &Owner { merchant: &merchant, scope: &scope, key: alias }, &target, &fingerprint, now)
                        .await?
                    {
                        return Err(still_running());
                    }
                }
                Ok::<_, ApiError>(())
            })
        })
        .await
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
