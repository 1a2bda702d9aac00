//! The HTTP API.

pub mod auth;
pub mod context;
pub mod customers;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod keys;
pub mod orders;
pub mod openapi;
pub mod payments;
pub mod processor;
pub mod rate_limit;
pub mod three_ds;
pub mod webhooks;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use kassa::ErrorCode;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;

use self::error::{ApiError, InternalCause};
use crate::state::AppState;

/// Request bodies above this are refused with `PAYLOAD_TOO_LARGE`.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Every route, as `(method, path)`, so tests can check the OpenAPI document covers them.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("post", "/api/v1/payment-methods"),
    ("post", "/api/v1/payments/authorize"),
    ("post", "/api/v1/payments/sale"),
    ("post", "/api/v1/payments/capture"),
    ("post", "/api/v1/payments/void"),
    ("post", "/api/v1/payments/refund"),
    ("post", "/api/v1/payments/{id}/tip"),
    ("get", "/api/v1/payments/transactions"),
    ("get", "/api/v1/payments/transactions/{id}"),
    ("post", "/api/v1/api-keys"),
    ("get", "/api/v1/api-keys"),
    ("delete", "/api/v1/api-keys/{id}"),
    ("post", "/api/v1/api-keys/{id}/roll"),
    ("post", "/api/v1/payments/intents"),
    ("get", "/api/v1/payments/intents/{id}"),
    ("post", "/api/v1/payments/intents/{id}"),
    ("post", "/api/v1/payments/intents/{id}/confirm"),
    ("get", "/api/v1/payments/failed"),
    ("post", "/api/v1/payments/failed/{id}/retry"),
    ("post", "/api/v1/payments/failed/{id}/resolve"),
    ("post", "/api/v1/customers"),
    ("get", "/api/v1/customers"),
    ("get", "/api/v1/customers/{id}"),
    ("post", "/api/v1/customers/{id}/payment-methods"),
    ("get", "/api/v1/customers/{id}/payment-methods"),
    ("delete", "/api/v1/customers/{id}/payment-methods/{methodId}"),
    ("post", "/api/v1/customers/{id}/sessions"),
    ("post", "/api/v1/orders"),
    ("get", "/api/v1/orders"),
    ("get", "/api/v1/orders/{id}"),
    ("post", "/api/v1/orders/{id}/payment-intent"),
    ("post", "/api/v1/orders/{id}/payments"),
    ("patch", "/api/v1/orders/{id}/payments/{uid}"),
    ("delete", "/api/v1/orders/{id}/payments/{uid}"),
    ("post", "/api/v1/orders/{id}/payments/{uid}/confirm"),
    ("post", "/api/v1/webhook-endpoints"),
    ("get", "/api/v1/webhook-endpoints"),
    ("delete", "/api/v1/webhook-endpoints/{id}"),
    ("get", "/api/v1/webhook-endpoints/{id}/deliveries"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/processor"),
    ("post", "/api/v1/processor"),
    ("post", "/processor-webhooks/stripe/{merchant}"),
];

/// Folders of built pages the server also serves.
#[derive(Clone, Default)]
pub struct StaticDirs {
    /// The built checkout app, served at `/checkout/`.
    pub checkout: Option<std::path::PathBuf>,
    /// The demo shop and docs, served at `/`.
    pub www: Option<std::path::PathBuf>,
    /// The npm package's files (`js/`), served at `/sdk/` as a CDN would.
    pub sdk: Option<std::path::PathBuf>,
    /// The demo shop's backend, under `/demo/api/`.
    pub demo: Option<std::sync::Arc<crate::demo::Demo>>,
}

/// The checkout runs no inline script and talks only to this server; any shop may frame it. Its
/// 3-D Secure window shows this server's challenge page, or the processor's where that runs the
/// challenge (`challenge_origins`).
pub fn checkout_csp(challenge_origins: &[String]) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         frame-src 'self' {}; base-uri 'none'; form-action 'none'; frame-ancestors *",
        challenge_origins.join(" ")
    )
}

pub fn app(state: AppState) -> Router {
    app_with_pages(state, &StaticDirs::default())
}

/// The API plus the checkout and the demo pages.
pub fn app_with_pages(state: AppState, pages: &StaticDirs) -> Router {
    let api = Router::new()
        .route("/payment-methods", post(payments::create_payment_method))
        .route("/payments/authorize", post(payments::authorize))
        .route("/payments/sale", post(payments::sale))
        .route("/payments/capture", post(payments::capture))
        .route("/payments/void", post(payments::void))
        .route("/payments/refund", post(payments::refund))
        .route("/payments/{id}/tip", post(payments::tip))
        .route("/payments/transactions", get(payments::list_transactions))
        .route("/payments/transactions/{id}", get(payments::get_transaction))
        .route("/api-keys", post(keys::create).get(keys::list))
        .route("/api-keys/{id}", delete(keys::revoke))
        .route("/api-keys/{id}/roll", post(keys::roll))
        .route("/payments/intents", post(payments::create_intent))
        .route("/payments/intents/{id}", get(payments::get_intent).post(payments::update_intent))
        .route("/payments/intents/{id}/confirm", post(payments::confirm_intent))
        .route("/payments/failed", get(payments::list_failed))
        .route("/payments/failed/{id}/retry", post(payments::retry_failed))
        .route("/payments/failed/{id}/resolve", post(payments::resolve_failed))
        .route("/customers", post(customers::create).get(customers::list))
        .route("/customers/{id}", get(customers::get))
        .route("/customers/{id}/payment-methods", post(customers::save_method).get(customers::list_methods))
        .route("/customers/{id}/payment-methods/{method_id}", delete(customers::delete_method))
        .route("/customers/{id}/sessions", post(customers::create_session))
        .route("/orders", post(orders::create).get(orders::list))
        .route("/orders/{id}", get(orders::get))
        .route("/orders/{id}/payment-intent", post(orders::payment_intent))
        .route("/orders/{id}/payments", post(orders::add_payment))
        .route("/orders/{id}/payments/{uid}", patch(orders::update_payment).delete(orders::delete_payment))
        .route("/orders/{id}/payments/{uid}/confirm", post(orders::confirm_payment))
        .route("/webhook-endpoints", post(webhooks::create).get(webhooks::list))
        .route("/webhook-endpoints/{id}", delete(webhooks::delete))
        .route("/webhook-endpoints/{id}/deliveries", get(webhooks::deliveries))
        .route("/events", get(webhooks::list_events))
        .route("/processor", get(processor::get).post(processor::update))
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(from_fn_with_state(state.clone(), auth::authenticate));
    let mut router = Router::new()
        .route("/healthz", get(health))
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/processor-webhooks/stripe/{merchant}", post(processor::stripe_webhook))
        .route("/3ds/{id}/challenge", get(three_ds::show).post(three_ds::submit))
        .route("/3ds/{id}/return", get(three_ds::returned))
        .route("/3ds/assets/challenge.css", get(three_ds::stylesheet))
        .route("/3ds/assets/complete.js", get(three_ds::complete_script))
        .route("/3ds/assets/challenge.js", get(three_ds::challenge_script))
        .nest("/api/v1", api);
    if let Some(dir) = &pages.checkout {
        let index = ServeFile::new(dir.join("index.html"));
        let policy = HeaderValue::from_str(&checkout_csp(&state.processors.challenge_origins())).expect("the origins are checked");
        let csp = SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, policy);
        router = router
            .route_service("/checkout", axum::routing::get(|| async { axum::response::Redirect::permanent("/checkout/") }))
            .nest_service("/checkout/", tower::ServiceBuilder::new().layer(csp).service(ServeDir::new(dir).fallback(index)));
    }
    if let Some(dir) = &pages.sdk {
        router = router.nest_service("/sdk/", ServeDir::new(dir));
    }
    if let Some(demo) = &pages.demo {
        router = router.merge(crate::demo::routes(demo.clone()));
    }
    let router = match &pages.www {
        Some(dir) => router.fallback_service(ServeDir::new(dir).not_found_service(axum::routing::any(not_found))),
        None => router.fallback(not_found),
    };
    router
        .method_not_allowed_fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(cors())
        .layer(from_fn(log_requests))
        .with_state(state)
}

/// Browsers may call the API from any origin: the keys, not cookies, say who is calling, and a
/// publishable key is meant to be used from a shop's pages.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-api-key"),
            HeaderName::from_static(customers::SESSION_HEADER),
        ])
        .expose_headers([header::RETRY_AFTER, HeaderName::from_static("idempotent-replayed")])
        .max_age(std::time::Duration::from_secs(600))
}

/// 200 when the database answers.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "The server and its database are up"),
              (status = 500, body = kassa::ErrorEnvelope)))]
pub async fn health(State(state): State<AppState>) -> Response {
    if state.store.ping().await {
        Json(serde_json::json!({ "data": { "status": "ok" } })).into_response()
    } else {
        ApiError::internal("database unreachable").into_response()
    }
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi::ApiDoc::openapi())
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "No such route")
}

/// One line a request: method, path (never the query or body), status and time. A 500's cause is
/// logged here and never sent.
async fn log_requests(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match response.extensions().get::<InternalCause>() {
        Some(InternalCause(cause)) => tracing::error!(%method, %path, status, elapsed_ms, %cause, "request failed"),
        None => tracing::info!(%method, %path, status, elapsed_ms, "request"),
    }
    response
}
