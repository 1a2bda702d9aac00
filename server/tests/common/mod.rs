//! Test helpers: one fresh database per test, requests through `Router::oneshot`.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use kassa::api::CreatedMerchant;
use kassa_server::processor::recording::RecordingProcessor;
use kassa_server::processor::sandbox::SandboxProcessor;
use kassa_server::rate_limit::Limits;
use kassa_server::store::Store;
use kassa_server::{app, merchants, AppState};
use serde_json::{json, Value};
use tower::ServiceExt;

pub mod database;
pub mod localstripe;
pub mod process;
#[allow(unused_imports)]
pub use database::{on_postgres, TestDb};

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub store: Store,
    pub merchant: CreatedMerchant,
    pub db: TestDb,
    /// What reached the card processor.
    pub processor: Arc<RecordingProcessor>,
}

#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub bytes: Vec<u8>,
    pub json: Value,
}

impl TestResponse {
    /// `data` of a success, after checking the status.
    #[track_caller]
    pub fn data(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.json);
        &self.json["data"]
    }

    /// Checks the status and the error code, and returns the error object.
    #[track_caller]
    pub fn error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.json);
        assert_eq!(self.json["error"]["code"], code, "unexpected code; body: {}", self.json);
        assert!(self.json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "no message: {}", self.json);
        &self.json["error"]
    }
}

/// The signing secret of the tests' Stripe webhook endpoints.
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_kassa_tests";

/// A card that the sandbox approves unless its number says otherwise.
pub fn card(number: &str) -> Value {
    json!({ "number": number, "expMonth": 12, "expYear": 2034, "cvc": "123", "postalCode": "94107" })
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with_limits(Limits::default()).await
    }

    pub async fn with_limits(limits: Limits) -> TestApp {
        TestApp::build(limits, Duration::ZERO).await
    }

    /// A server whose sandbox takes `latency` per call, so that racing requests overlap at the
    /// processor as they do in production.
    pub async fn with_latency(latency: Duration) -> TestApp {
        TestApp::build(
            Limits {
                publishable_per_second: 0,
                secret_per_second: 0,
                card_attempts_per_address_per_second: 0,
                sign_ins_per_address_per_minute: 0,
                three_ds_per_address_per_minute: 0,
            },
            latency,
        )
        .await
    }

    async fn build(limits: Limits, latency: Duration) -> TestApp {
        if let Ok(filter) = std::env::var("KASSA_TEST_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(filter)).with_test_writer().try_init();
        }
        let db = TestDb::new().await;
        let store = Store::connect(&db.url).await.expect("database");
        let merchant = merchants::create(&store, "Test Shop").await.expect("merchant");
        let processor = Arc::new(RecordingProcessor::new(Arc::new(SandboxProcessor::new(latency, rand::random()))));
        let mut state = AppState::with_limits(store.clone(), processor.clone(), limits);
        // Test mode: the tests' webhook receivers listen on loopback.
        state.allow_loopback_webhooks = true;
        let router = app(state.clone());
        TestApp { router, state, store, merchant, db, processor }
    }

    /// A server whose merchant's payments go to Stripe, played by localstripe, with Stripe's
    /// webhooks signed with [`STRIPE_WEBHOOK_SECRET`]. No rate limits: the tests race requests.
    pub async fn on_stripe() -> TestApp {
        let url = tokio::task::spawn_blocking(localstripe::url).await.expect("localstripe");
        let mut app = TestApp::with_latency(Duration::ZERO).await;
        app.use_stripe_at(url);
        let chosen = app
            .post(
                "/api/v1/processor",
                app.sk(),
                json!({ "processor": "stripe", "secretKey": localstripe::SECRET_KEY, "webhookSecret": STRIPE_WEBHOOK_SECRET }),
            )
            .await;
        assert_eq!(chosen.data(200)["processor"], "stripe");
        app
    }

    /// Delivers a Stripe event about this merchant's payments, signed as Stripe signs it now.
    pub async fn stripe_event(&self, event: &Value) -> TestResponse {
        let body = event.to_string();
        let signature = kassa::webhook::sign(body.as_bytes(), STRIPE_WEBHOOK_SECRET, kassa_server::clock::now_ms() / 1000);
        let path = format!("/processor-webhooks/stripe/{}", self.merchant.merchant_id);
        self.send("POST", &path, None, &[("stripe-signature", signature.as_str())], Some(body.into_bytes())).await
    }

    /// Sends this server's Stripe calls to `url` (localstripe, or a proxy in front of it).
    pub fn use_stripe_at(&mut self, url: &str) {
        let sandbox = self.state.processors.sandbox().clone();
        self.state.processors = Arc::new(kassa_server::processor::registry::Processors::new(sandbox, url));
        self.router = kassa_server::app(self.state.clone());
    }

    /// Starts the server again on the same database, encryption key and processor, as after a
    /// crash: nothing of the old process's memory is kept.
    pub async fn restart(&mut self) {
        let store = Store::connect(&self.db.url).await.expect("database");
        let mut state = AppState::new(store.clone(), self.processor.clone());
        state.keyring = self.state.keyring.clone();
        state.allow_loopback_webhooks = true;
        self.router = app(state.clone());
        self.state = state;
        self.store = store;
    }

    pub fn sk(&self) -> &str {
        &self.merchant.secret_key
    }

    pub fn pk(&self) -> &str {
        &self.merchant.publishable_key
    }

    /// Another merchant on the same server.
    pub async fn other_merchant(&self) -> CreatedMerchant {
        merchants::create(&self.store, "Other Shop").await.expect("merchant")
    }

    pub async fn send(&self, method: &str, path: &str, key: Option<&str>, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> TestResponse {
        self.send_built(Request::builder(), method, path, key, headers, body).await
    }

    /// A JSON request from the client address `from` (`203.0.113.7:5000`), without a key.
    #[allow(dead_code)]
    pub async fn send_from(&self, from: &str, method: &str, path: &str, body: Value) -> TestResponse {
        let address: std::net::SocketAddr = from.parse().expect("an address and port");
        let builder = Request::builder().extension(axum::extract::ConnectInfo(address));
        self.send_built(builder, method, path, None, &[], Some(body.to_string().into_bytes())).await
    }

    /// A request from the TCP peer `from` (`10.0.0.2:5000`, a proxy perhaps), with a key and
    /// headers such as `X-Forwarded-For`.
    #[allow(dead_code)]
    pub async fn send_from_with(
        &self,
        from: &str,
        method: &str,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> TestResponse {
        let address: std::net::SocketAddr = from.parse().expect("an address and port");
        let builder = Request::builder().extension(axum::extract::ConnectInfo(address));
        self.send_built(builder, method, path, key, headers, body.map(|b| b.to_string().into_bytes())).await
    }

    /// Trusts the proxies in `networks` (`--trusted-proxy`) from now on.
    pub fn trust_proxies(&mut self, networks: &[&str]) {
        self.state.trusted_proxies = networks.iter().map(|n| n.parse().expect("an address or network")).collect();
        self.router = kassa_server::app(self.state.clone());
    }

    async fn send_built(
        &self,
        builder: axum::http::request::Builder,
        method: &str,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        send_to(&self.router, builder, method, path, key, headers, body).await
    }

    /// Another server on this one's database, sharing nothing in memory with it (as a second
    /// process would), and its routes.
    pub async fn second_server(&self) -> (AppState, Router) {
        let store = Store::connect(&self.db.url).await.expect("database");
        let mut state = AppState::with_limits(store, self.processor.clone(), Limits::default());
        state.keyring = self.state.keyring.clone();
        state.allow_loopback_webhooks = true;
        state.console = self.state.console;
        (state.clone(), app(state))
    }

    /// A request without a key to `router` (another server's, from [`TestApp::second_server`]).
    pub async fn send_to(
        &self,
        router: &Router,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        send_to(router, Request::builder(), method, path, None, headers, body).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> TestResponse {
        self.send("POST", path, Some(key), &[], Some(body.to_string().into_bytes())).await
    }

    pub async fn post_with_key(&self, path: &str, key: &str, idempotency_key: &str, body: Value) -> TestResponse {
        self.send("POST", path, Some(key), &[("idempotency-key", idempotency_key)], Some(body.to_string().into_bytes())).await
    }

    pub async fn patch(&self, path: &str, key: &str, body: Value) -> TestResponse {
        self.send("PATCH", path, Some(key), &[], Some(body.to_string().into_bytes())).await
    }

    pub async fn delete(&self, path: &str, key: &str) -> TestResponse {
        self.send("DELETE", path, Some(key), &[], None).await
    }

    pub async fn get(&self, path: &str, key: &str) -> TestResponse {
        self.send("GET", path, Some(key), &[], None).await
    }

    /// A restricted key of this merchant with the given permissions.
    pub async fn restricted_key(&self, permissions: &[&str]) -> String {
        let response = self.post("/api/v1/api-keys", self.sk(), json!({ "kind": "restricted", "permissions": permissions })).await;
        response.data(201)["key"].as_str().unwrap().to_owned()
    }

    pub async fn sale(&self, number: &str, amount: i64) -> TestResponse {
        self.post("/api/v1/payments/sale", self.sk(), json!({ "amountCents": amount, "currency": "USD", "card": card(number) })).await
    }

    pub async fn authorize(&self, number: &str, amount: i64) -> TestResponse {
        self.post("/api/v1/payments/authorize", self.sk(), json!({ "amountCents": amount, "currency": "USD", "card": card(number) })).await
    }

    /// An authorized payment's id.
    pub async fn authorized(&self, amount: i64) -> String {
        let response = self.authorize("4242424242424242", amount).await;
        response.data(201)["id"].as_str().unwrap().to_owned()
    }

    /// A captured payment's id.
    pub async fn captured(&self, amount: i64) -> String {
        let response = self.sale("4242424242424242", amount).await;
        response.data(201)["id"].as_str().unwrap().to_owned()
    }

    pub async fn intent(&self, id: &str) -> Value {
        let response = self.get(&format!("/api/v1/payments/transactions/{id}"), self.sk()).await;
        response.data(200).clone()
    }

    /// Every intent id of this merchant, newest first.
    pub async fn all_intent_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/payments/transactions?limit=100&cursor={c}"),
                None => "/api/v1/payments/transactions?limit=100".to_owned(),
            };
            let page = self.get(&path, self.sk()).await;
            for intent in page.data(200).as_array().unwrap() {
                ids.push(intent["id"].as_str().unwrap().to_owned());
            }
            cursor = page.json["meta"]["cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                return ids;
            }
        }
    }
}

async fn send_to(
    router: &Router,
    builder: axum::http::request::Builder,
    method: &str,
    path: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> TestResponse {
    let mut builder = builder.method(method).uri(path);
    if let Some(key) = key {
        builder = builder.header("authorization", format!("Bearer {key}"));
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let body = match body {
        Some(bytes) => {
            builder = builder.header("content-type", "application/json");
            Body::from(bytes)
        }
        None => Body::empty(),
    };
    let response = router.clone().oneshot(builder.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    TestResponse { status, headers, bytes, json }
}
