//! Stripe's API at `/v1/`, so that code written for Stripe — the official `stripe` libraries, and
//! plugins built on them — works against Kassa by changing its API base.
//!
//! A face: it reads Stripe's parameters, calls the same domain functions as Kassa's own API
//! (`crate::payments`, customers, webhooks), and writes their answers as Stripe's objects and
//! errors. It holds no money logic. Every POST runs under an idempotency key — the client's
//! `Idempotency-Key`, or one made for it — through Kassa's own idempotency layer, which saves the
//! domain's answer with its effect; this face writes that answer as Stripe's object on the way
//! out, for the first answer and for every replay alike (`Idempotent-Replayed: true`).

pub mod errors;
pub mod form;
pub mod objects;
pub mod openapi;
pub mod wire;

mod customers;
mod events;
mod payment_intents;
mod payment_methods;
mod refunds;
mod setup_intents;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, on, MethodFilter, MethodRouter};
use axum::Router;
use serde_json::Value;

use self::form::Params;
use self::objects::View;
use crate::error::ApiError;
use crate::http::auth::{key_caller, presented_key, Caller};
use crate::http::extract::{too_large, BODY_LIMIT};
use crate::idempotency::{seal_context, IdempotencyKey};
use crate::state::AppState;

/// The API version answered when a request names none: the one Kassa's Stripe connector speaks.
pub const DEFAULT_VERSION: &str = crate::processor::stripe::API_VERSION;

/// The routes under `/v1`, and the document that describes them at `/v1/openapi.json` (which,
/// like Kassa's own, takes no key).
pub fn routes(state: AppState) -> Router<AppState> {
    let document = Bytes::from(openapi::document().to_string());
    let mut router = Router::new();
    for (_, path, handler) in table() {
        router = router.route(path, handler);
    }
    router
        .route_layer(from_fn_with_state(state.clone(), crate::http::idempotency::idempotency))
        .route_layer(from_fn_with_state(state, face))
        .route("/v1/openapi.json", get(move || async move { ([(header::CONTENT_TYPE, "application/json")], document) }))
}

/// Each operation of the face: its method, path and handler. The document (`openapi`) is checked
/// to describe these and no others.
fn table() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    fn op<H: Handler<T, AppState>, T: 'static>(
        method: Method,
        path: &'static str,
        handler: H,
    ) -> (Method, &'static str, MethodRouter<AppState>) {
        let filter = MethodFilter::try_from(method.clone()).expect("a method axum routes");
        (method, path, on(filter, handler))
    }
    vec![
        op(Method::POST, "/v1/payment_intents", payment_intents::create),
        op(Method::GET, "/v1/payment_intents", payment_intents::list),
        op(Method::POST, "/v1/payment_intents/{id}", payment_intents::update),
        op(Method::GET, "/v1/payment_intents/{id}", payment_intents::retrieve),
        op(Method::POST, "/v1/payment_intents/{id}/confirm", payment_intents::confirm),
        op(Method::POST, "/v1/payment_intents/{id}/capture", payment_intents::capture),
        op(Method::POST, "/v1/payment_intents/{id}/cancel", payment_intents::cancel),
        op(Method::POST, "/v1/payment_methods", payment_methods::create),
        op(Method::GET, "/v1/payment_methods", payment_methods::list),
        op(Method::GET, "/v1/payment_methods/{id}", payment_methods::retrieve),
        op(Method::POST, "/v1/payment_methods/{id}/attach", payment_methods::attach),
        op(Method::POST, "/v1/payment_methods/{id}/detach", payment_methods::detach),
        op(Method::POST, "/v1/customers", customers::create),
        op(Method::GET, "/v1/customers", customers::list),
        op(Method::POST, "/v1/customers/{id}", customers::update),
        op(Method::GET, "/v1/customers/{id}", customers::retrieve),
        op(Method::DELETE, "/v1/customers/{id}", customers::delete),
        op(Method::GET, "/v1/customers/{id}/payment_methods", customers::payment_methods),
        op(Method::POST, "/v1/refunds", refunds::create),
        op(Method::GET, "/v1/refunds", refunds::list),
        op(Method::GET, "/v1/refunds/{id}", refunds::retrieve),
        op(Method::GET, "/v1/charges", refunds::list_charges),
        op(Method::GET, "/v1/charges/{id}", refunds::retrieve_charge),
        op(Method::POST, "/v1/setup_intents", setup_intents::create),
        op(Method::GET, "/v1/setup_intents/{id}", setup_intents::retrieve),
        op(Method::POST, "/v1/setup_intents/{id}/confirm", setup_intents::confirm),
        op(Method::POST, "/v1/webhook_endpoints", events::create_endpoint),
        op(Method::GET, "/v1/webhook_endpoints", events::list_endpoints),
        op(Method::GET, "/v1/webhook_endpoints/{id}", events::retrieve_endpoint),
        op(Method::DELETE, "/v1/webhook_endpoints/{id}", events::delete_endpoint),
        op(Method::GET, "/v1/events", events::list),
        op(Method::GET, "/v1/events/{id}", events::retrieve),
    ]
}

/// Marks an answer a handler wrote in Stripe's shape already (a read): the face passes it on.
#[derive(Clone, Copy)]
pub struct Rendered;

/// A Stripe object (or list) as the answer.
pub fn rendered(status: StatusCode, object: Value) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], object.to_string()).into_response();
    response.extensions_mut().insert(Rendered);
    response
}

pub type FaceResult = Result<Response, ApiError>;

/// What every request to the face has been through: who calls, its parameters and what it asked
/// to expand, and the idempotency key it runs under.
#[derive(Clone)]
pub struct FaceRequest {
    pub params: Params,
    pub expand: Vec<String>,
    /// The `Idempotency-Key` of a POST (the client's, or the one made for it).
    pub key: Option<String>,
}

/// Authenticates the key (keys only: the console's session does not reach this API), reads the
/// parameters, runs the route and writes its answer the Stripe way.
async fn face(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let version = req.headers().get("stripe-version").cloned().unwrap_or(HeaderValue::from_static(DEFAULT_VERSION));
    let request_id = HeaderValue::from_str(&crate::ids::secret("req_")[..24]).expect("ids are ASCII");
    let mut response = run(&state, req, next).await;
    let headers = response.headers_mut();
    headers.insert("stripe-version", version);
    headers.insert("request-id", request_id);
    response
}

async fn run(state: &AppState, req: Request, next: Next) -> Response {
    let caller = match presented_key(req.headers()) {
        Some(key) => match key_caller(state, &key).await {
            Ok(caller) => caller,
            Err(e) => return face_error(state, None, e).await,
        },
        None => {
            let e = ApiError::new(
                kassa::ErrorCode::Unauthenticated,
                "You did not provide an API key. Send it as `Authorization: Bearer sk_test_…`, or as the user of HTTP Basic.",
            );
            return face_error(state, None, e).await;
        }
    };
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return face_error(state, Some(&caller), too_large()).await;
    };
    let writes = parts.method == Method::POST;
    let raw = if writes { bytes.as_ref() } else { parts.uri.query().unwrap_or_default().as_bytes() };
    let params = match Params::parse(raw) {
        Ok(params) => params,
        Err(e) => return face_error(state, Some(&caller), e).await,
    };
    // `expand` that is not a list is refused here, for every route alike, rather than read as none.
    let expand = match params.strings("expand") {
        Ok(expand) => expand,
        Err(e) => return face_error(state, Some(&caller), e).await,
    };
    let key = if writes {
        // Every write runs under a key, so that what it did can be found from the request alone
        // (a Refund is the refund its request claimed).
        // A key that is there but cannot be read is refused, never replaced: a retry under it
        // would run again.
        let given = match parts.headers.get("idempotency-key").map(|v| v.to_str().map(str::to_owned)) {
            Some(Ok(key)) => Some(key),
            Some(Err(_)) => {
                let e = form::invalid("Idempotency-Key", "idempotency_key_invalid", "The Idempotency-Key header must be visible ASCII");
                return face_error(state, Some(&caller), e).await;
            }
            None => None,
        };
        let key = given.unwrap_or_else(|| crate::ids::secret("kassa_"));
        if let Ok(value) = HeaderValue::from_str(&key) {
            parts.headers.insert("idempotency-key", value);
        }
        Some(key)
    } else {
        None
    };
    let request = FaceRequest { params, expand, key };
    parts.extensions.insert(caller.clone());
    parts.extensions.insert(request.clone());
    let path = parts.uri.path().to_owned();
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if response.extensions().get::<Rendered>().is_some() {
        return response;
    }
    shape(state, &caller, &request, &path, response).await
}

/// A Kassa answer (a domain function's, first or replayed) as Stripe's.
async fn shape(state: &AppState, caller: &Caller, request: &FaceRequest, path: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let mut shaped = if !parts.status.is_success() {
        match serde_json::from_value::<kassa::ErrorEnvelope>(value) {
            Ok(envelope) => stripe_error(state, Some(caller), &envelope.error).await,
            Err(_) => return Response::from_parts(parts, Body::from(bytes)),
        }
    } else {
        let view = View::of(state, caller, &request.expand);
        // Stripe answers every success with 200, a new object's too.
        match render_answer(&view, caller, request, path, &value["data"]).await {
            Ok(object) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], object.to_string()).into_response(),
            Err(e) => face_error(state, Some(caller), e).await,
        }
    };
    // What the inner layers said stays said: a replay, a 500's logged cause, `Retry-After`.
    for name in ["idempotent-replayed", "retry-after"] {
        if let Some(value) = parts.headers.get(name) {
            shaped.headers_mut().insert(name, value.clone());
        }
    }
    if let Some(cause) = parts.extensions.get::<crate::http::error::InternalCause>() {
        shaped.extensions_mut().insert(cause.clone());
    }
    shaped
}

/// The object a write answers, from the domain's answer `data`: the route says which (a refund
/// answers the payment in Kassa and the Refund in Stripe); ids say the rest.
async fn render_answer(view: &View<'_>, caller: &Caller, request: &FaceRequest, path: &str, data: &Value) -> Result<Value, ApiError> {
    let id = data["id"].as_str().unwrap_or_default();
    if path == "/v1/refunds" {
        return refunds::of_request(view, caller, request).await;
    }
    if path.starts_with("/v1/setup_intents") {
        return setup_intents::render_answer(view, data).await;
    }
    if id.starts_with("pi_") {
        let intent = payment_intents::load(view, id).await?;
        let secret = match data["clientSecret"].as_str() {
            Some(secret) => Some(secret.to_owned()),
            None => created_secret(view.state, caller, request).await,
        };
        return objects::payment_intent(view, &intent, secret.as_deref()).await;
    }
    if id.starts_with("cus_") {
        let customer: kassa::api::Customer = serde_json::from_value(data.clone()).map_err(ApiError::internal)?;
        return Ok(objects::customer(&customer));
    }
    if id.starts_with("tok_") || id.starts_with("pm_") {
        return payment_methods::render_answer(view, id).await;
    }
    if id.starts_with("we_") {
        return events::render_endpoint(data);
    }
    Err(ApiError::internal(format!("the Stripe face has no object for the answer {id}")))
}

/// An error of the face's own as Stripe's; a 500's cause goes to the log.
async fn face_error(state: &AppState, caller: Option<&Caller>, error: ApiError) -> Response {
    let mut response = stripe_error(state, caller, &error.body()).await;
    if let Some(cause) = error.cause {
        response.extensions_mut().insert(crate::http::error::InternalCause(cause));
    }
    response
}

/// A Kassa error as Stripe's, with the PaymentIntent a decline is about.
async fn stripe_error(state: &AppState, caller: Option<&Caller>, error: &kassa::ErrorBody) -> Response {
    let intent_id = error.details.as_ref().and_then(|d| d.get("paymentIntentId")).and_then(Value::as_str);
    let intent = match (caller, intent_id) {
        (Some(caller), Some(id)) => {
            let view = View::of(state, caller, &[]);
            match payment_intents::load(&view, id).await {
                Ok(intent) => objects::payment_intent(&view, &intent, None).await.ok(),
                Err(_) => None,
            }
        }
        _ => None,
    };
    let translated = errors::translate(error, intent);
    let status = StatusCode::from_u16(translated.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], translated.body.to_string()).into_response();
    if let Some(retry) = translated.retry {
        response.headers_mut().insert("stripe-should-retry", HeaderValue::from_static(if retry { "true" } else { "false" }));
    }
    if let Some(seconds) = error.details.as_ref().and_then(|d| d.get("retryAfterSeconds")).and_then(Value::as_u64) {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A step of a request that makes two changes (create an intent, then confirm it) under a key of
/// its own, derived from the request's: a retry after the first change finds its answer instead
/// of making it again. It is the request's key in a scope of the step's, which no client's key is
/// ever in (a client's scope is its API key's id), so no key a client chooses can name it.
pub(crate) fn step_key(key: &IdempotencyKey, step: &str) -> IdempotencyKey {
    IdempotencyKey { scope: format!("{}#{step}", key.scope), ..key.clone() }
}

/// The answer a step already saved under `key` (none without a key), if any: only this very
/// request's (the same fingerprint). Another request's under the same key is Stripe's
/// `idempotency_error`.
pub(crate) async fn saved_answer(state: &AppState, key: Option<&IdempotencyKey>) -> Result<Option<crate::idempotency::Recorded>, ApiError> {
    let Some(key) = key else { return Ok(None) };
    match saved_reply(state, key).await? {
        Some((fingerprint, reply)) if fingerprint == key.fingerprint => Ok(Some(reply)),
        Some(_) => Err(ApiError::new(kassa::ErrorCode::DuplicateRequest, "This idempotency key was already used for a different request")
            .with_details(serde_json::json!({ "retryable": false }))),
        None => Ok(None),
    }
}

/// What is saved under `key`, whoever's request it answered: its fingerprint and reply.
async fn saved_reply(state: &AppState, key: &IdempotencyKey) -> Result<Option<(String, crate::idempotency::Recorded)>, ApiError> {
    use crate::store::idempotency::{self, Stored};
    match idempotency::find(&state.store, &key.owner()).await? {
        Some(Stored::Done { fingerprint, status_code, sealed_body }) => {
            let body = state.keyring.open(&sealed_body, seal_context(&key.owner()).as_bytes()).map_err(ApiError::internal)?;
            Ok(Some((fingerprint, crate::idempotency::Recorded { status: status_code, body })))
        }
        _ => Ok(None),
    }
}

/// The key a request ran under: the one it sent, or the key that one names when it is another
/// name of a request (Kassa's API lets a request have two, see `http::idempotency`).
pub(crate) async fn running_key(state: &AppState, caller: &Caller, key: &str) -> String {
    use crate::store::idempotency::{self, Owner, Stored};
    let owner = Owner { merchant: &caller.merchant_id, scope: caller.scope(), key };
    match idempotency::find(&state.store, &owner).await {
        Ok(Some(Stored::Alias { target })) => target,
        _ => key.to_owned(),
    }
}

/// The client secret the creating step of a create-and-confirm saved with its answer.
pub(crate) async fn created_secret(state: &AppState, caller: &Caller, request: &FaceRequest) -> Option<String> {
    let key = running_key(state, caller, request.key.as_ref()?).await;
    let owner = IdempotencyKey {
        merchant: caller.merchant_id.clone(),
        scope: caller.scope().to_owned(),
        key,
        fingerprint: String::new(),
        keyring: state.keyring.clone(),
    };
    let (_, created) = saved_reply(state, &step_key(&owner, "create")).await.ok()??;
    answer_data(&created)["clientSecret"].as_str().map(str::to_owned)
}

/// The body of a Kassa answer that the face reads on (the id of what a step made).
pub(crate) fn answer_data(recorded: &crate::idempotency::Recorded) -> Value {
    serde_json::from_slice::<Value>(&recorded.body).map(|v| v["data"].clone()).unwrap_or(Value::Null)
}
