//! The HTTP API.

pub mod address;
pub mod auth;
pub mod console;
pub mod context;
pub mod customers;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod keys;
pub mod openapi;
pub mod orders;
pub mod payments;
pub mod processor;
pub mod three_ds;
pub mod webhooks;

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kassa::ErrorCode;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::error::{ApiError, InternalCause};
use crate::state::AppState;

pub use extract::BODY_LIMIT;

/// Folders of built pages the server also serves.
#[derive(Clone, Default)]
pub struct StaticDirs {
    /// The built checkout app, served at `/checkout/`.
    pub checkout: Option<std::path::PathBuf>,
    /// The npm package's files (`js/`), served at `/sdk/` as a CDN would.
    pub sdk: Option<std::path::PathBuf>,
    /// The built merchant console, served at `/console/`.
    pub console: Option<std::path::PathBuf>,
}

/// The console runs no inline script, talks only to this server, and is never framed (so that no
/// other page can trick its users into clicks).
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

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

/// The API plus the checkout and the npm package's files.
pub fn app_with_pages(state: AppState, pages: &StaticDirs) -> Router {
    let api = OpenApiRouter::new()
        .routes(routes!(payments::create_payment_method))
        .routes(routes!(payments::authorize))
        .routes(routes!(payments::sale))
        .routes(routes!(payments::capture))
        .routes(routes!(payments::void))
        .routes(routes!(payments::refund))
        .routes(routes!(payments::tip))
        .routes(routes!(payments::list_transactions))
        .routes(routes!(payments::get_transaction))
        .routes(routes!(keys::create, keys::list))
        .routes(routes!(keys::revoke))
        .routes(routes!(keys::roll))
        .routes(routes!(payments::create_intent))
        .routes(routes!(payments::get_intent, payments::update_intent))
        .routes(routes!(payments::confirm_intent))
        .routes(routes!(payments::list_failed))
        .routes(routes!(payments::retry_failed))
        .routes(routes!(payments::resolve_failed))
        .routes(routes!(customers::create, customers::list))
        .routes(routes!(customers::get))
        .routes(routes!(customers::save_method, customers::list_methods))
        .routes(routes!(customers::delete_method))
        .routes(routes!(customers::create_session))
        .routes(routes!(orders::create, orders::list))
        .routes(routes!(orders::get, orders::update))
        .routes(routes!(orders::payment_intent))
        .routes(routes!(orders::add_payment))
        .routes(routes!(orders::update_payment, orders::delete_payment))
        .routes(routes!(orders::confirm_payment))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::delete))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::send_again))
        .routes(routes!(webhooks::list_events))
        .routes(routes!(processor::get, processor::update))
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(from_fn_with_state(state.clone(), auth::authenticate))
        // Signing in to the console: these routes take no key and no session.
        .routes(routes!(console::sign_in, console::current, console::sign_out))
        .routes(routes!(console::set_up));
    let (documented, document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(processor::stripe_webhook))
        .nest("/api/v1", api)
        .split_for_parts();
    let document = Bytes::from(openapi::finish(document).to_string());
    let mut router = documented
        // Stripe's API, for code written for Stripe (`crate::stripe_api`).
        .merge(crate::stripe_api::routes(state.clone()))
        .route("/api/v1/openapi.json", get(move || async move { ([(header::CONTENT_TYPE, "application/json")], document) }))
        .route("/3ds/{id}/challenge", get(three_ds::show).post(three_ds::submit))
        .route("/3ds/{id}/return", get(three_ds::returned))
        .route("/3ds/assets/challenge.css", get(three_ds::stylesheet))
        .route("/3ds/assets/complete.js", get(three_ds::complete_script))
        .route("/3ds/assets/challenge.js", get(three_ds::challenge_script));
    if let Some(dir) = &pages.checkout {
        // The build writes each file's brotli and gzip beside it; they are served to browsers that take them.
        let index = ServeFile::new(dir.join("index.html")).precompressed_br().precompressed_gzip();
        let policy = HeaderValue::from_str(&checkout_csp(&state.processors.challenge_origins())).expect("the origins are checked");
        let csp = SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, policy);
        router = router
            .route_service("/checkout", axum::routing::get(|| async { axum::response::Redirect::permanent("/checkout/") }))
            .nest_service(
                "/checkout/",
                tower::ServiceBuilder::new()
                    .layer(csp)
                    .layer(from_fn(cache_policy))
                    .service(ServeDir::new(dir).precompressed_br().precompressed_gzip().fallback(index)),
            );
    }
    if let Some(dir) = &pages.console {
        // Every address under /console/ is a page of the app: the app reads it and shows that page.
        let index = ServeFile::new(dir.join("index.html")).precompressed_br().precompressed_gzip();
        let csp = SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONSOLE_CSP));
        let no_referrer = SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        router = router
            .route_service("/console", axum::routing::get(|| async { axum::response::Redirect::permanent("/console/") }))
            .nest_service(
                "/console/",
                tower::ServiceBuilder::new()
                    .layer(csp)
                    .layer(no_referrer)
                    .layer(from_fn(cache_policy))
                    .service(ServeDir::new(dir).precompressed_br().precompressed_gzip().fallback(index)),
            );
    }
    if let Some(dir) = &pages.sdk {
        router = router.nest_service("/sdk/", ServeDir::new(dir));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(cors())
        .layer(from_fn(strict_transport))
        .layer(from_fn(log_requests))
        .with_state(state)
}

/// Off localhost every answer tells the browser to come back over HTTPS only, so that the session
/// cookie and the pages are never fetched in the clear.
async fn strict_transport(req: Request, next: Next) -> Response {
    let local = console::is_local_host(req.headers());
    let mut response = next.run(req).await;
    if !local {
        response.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(console::STRICT_TRANSPORT_SECURITY));
    }
    response
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

/// 200 when the database answers, 503 when it does not (within a couple of seconds, so that a
/// load balancer's check is answered while the database is away).
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "The server and its database are up"),
              (status = 503, body = kassa::ErrorEnvelope, description = "The database does not answer")))]
pub async fn health(State(state): State<AppState>) -> Response {
    if state.store.ping().await {
        Json(serde_json::json!({ "data": { "status": "ok" } })).into_response()
    } else {
        ApiError::unavailable("database unreachable").into_response()
    }
}

/// Whether a file's name carries a hash of its content (`kassa-checkout-275dad0e07d0248f_bg.wasm`),
/// so that it never changes under that name.
fn is_content_addressed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.split(['-', '_', '.']).any(|part| part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A content-addressed file is cached for good; anything else (the page that names them) is
/// checked with the server each time.
async fn cache_policy(request: Request, next: Next) -> Response {
    let forever = is_content_addressed(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let policy = if forever { "public, max-age=31536000, immutable" } else { "no-cache" };
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "No such route")
}

/// axum adds the `Allow` header to this answer.
async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, format!("This route does not take {method}"))
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
