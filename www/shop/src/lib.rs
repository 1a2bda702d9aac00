//! The demo shop's backend, as a merchant would write one: its catalog prices every cart (never
//! the browser), it reaches Kassa only through the public HTTP API with its secret key, and it
//! keeps its own orders and handled events in its own database.
//!
//! Its pages (`www/`) and the npm package (`/sdk/`) are served from its own origin; the checkout
//! they embed comes from Kassa's.

pub mod catalog;
pub mod client;
pub mod error;
mod shopper;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Json, Router};
use kassa::api::{IntentWithHistory, TransactionStatus, TransactionType};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use tower_http::services::ServeDir;

use crate::catalog::{price, CartLine, CATALOG, CURRENCY};
use crate::client::Kassa;
use crate::error::{ShopError, ShopResult};

/// Kiosk intents per second from one address (a burst of twice that is let through).
const KIOSK_INTENTS_PER_SECOND: f64 = 2.0;

pub struct Config {
    /// Where Kassa answers, e.g. `http://127.0.0.1:8080`.
    pub kassa_url: String,
    /// The merchant's secret key (`sk_…`).
    pub secret_key: String,
    /// The shop's own SQLite database, e.g. `sqlite://kassa-shop.db`.
    pub database: String,
    /// Where Kassa can reach this shop, for its webhooks.
    pub public_url: String,
}

/// The running shop: its Kassa account and its own database.
pub struct Shop {
    pub kassa: Kassa,
    pub db: SqlitePool,
    /// Made for this run: publishable keys are public, and the pages need one.
    pub publishable_key: String,
    /// The signing secret of the endpoint registered for this run; kept in memory only.
    pub webhook_secret: String,
    /// Signs the cookie that says which customer this browser is (made anew each run).
    cookie_key: [u8; 32],
    kiosk_buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Opens the shop's database and readies its Kassa account for this run: a publishable key for
/// its pages and a webhook endpoint at `public_url` for `order.paid`. Those of the previous run
/// are retired, so one of each is live at a time.
pub async fn prepare(config: &Config) -> Result<Shop, Box<dyn std::error::Error + Send + Sync>> {
    let options: SqliteConnectOptions = config.database.parse::<SqliteConnectOptions>()?.create_if_missing(true);
    let db = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
    sqlx::migrate!("./migrations").run(&db).await?;
    let kassa = Kassa::new(&config.kassa_url, &config.secret_key);

    let key = kassa.post("/api-keys", &json!({ "kind": "publishable", "name": "Demo shop pages" })).await.map_err(explain)?;
    retire(&kassa, &db, "publishable_key_id", "/api-keys").await?;
    remember(&db, "publishable_key_id", str_of(&key["id"])).await?;

    let endpoint = json!({ "url": format!("{}/demo/api/webhooks", config.public_url.trim_end_matches('/')), "events": ["order.paid"] });
    let endpoint = kassa.post("/webhook-endpoints", &endpoint).await.map_err(explain)?;
    retire(&kassa, &db, "webhook_endpoint_id", "/webhook-endpoints").await?;
    remember(&db, "webhook_endpoint_id", str_of(&endpoint["id"])).await?;

    Ok(Shop {
        kassa,
        db,
        publishable_key: str_of(&key["key"]).to_owned(),
        webhook_secret: str_of(&endpoint["secret"]).to_owned(),
        cookie_key: rand::random(),
        kiosk_buckets: Mutex::new(HashMap::new()),
    })
}

fn explain(e: ShopError) -> Box<dyn std::error::Error + Send + Sync> {
    format!("Kassa refused the shop's setup ({}): {}", e.status, e.body["error"]["message"].as_str().unwrap_or_default()).into()
}

/// Deletes what the previous run made, if Kassa still has it.
async fn retire(kassa: &Kassa, db: &SqlitePool, setting: &str, collection: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let previous: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE name = $1").bind(setting).fetch_optional(db).await?;
    if let Some(id) = previous {
        match kassa.delete(&format!("{collection}/{id}")).await {
            Ok(_) => {}
            Err(e) if e.status == 404 => {}
            Err(e) => return Err(explain(e)),
        }
    }
    Ok(())
}

async fn remember(db: &SqlitePool, name: &str, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
        .bind(name)
        .bind(value)
        .execute(db)
        .await?;
    Ok(())
}

fn str_of(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// The shop's routes: its backend at `/demo/api/`, and, when given, its pages and the npm package.
pub fn router(shop: Arc<Shop>, www: Option<PathBuf>, sdk: Option<PathBuf>) -> Router {
    let mut router = Router::new()
        .route("/demo/api/config", get(config))
        .route("/demo/api/checkout", post(checkout))
        .route("/demo/api/checkout/update", post(update))
        .route("/demo/api/kiosk", post(kiosk))
        .route("/demo/api/payments/{id}", get(payment))
        .route("/demo/api/webhooks", post(webhook))
        .route("/demo/api/orders/{id}", get(shop_order))
        .route("/demo/api/{*rest}", any(|| async { ShopError::not_found("route") }))
        .with_state(shop);
    if let Some(sdk) = sdk {
        router = router.nest_service("/sdk/", ServeDir::new(sdk));
    }
    if let Some(www) = www {
        router = router.fallback_service(ServeDir::new(www));
    }
    router
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// A JSON body in Kassa's error format when it does not read.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> ShopResult<T> {
    serde_json::from_slice(bytes).map_err(|e| ShopError::validation("body", format!("The body is not the JSON this route takes: {e}")))
}

async fn config(State(shop): State<Arc<Shop>>) -> Json<Value> {
    let catalog: Vec<Value> = CATALOG
        .iter()
        .map(|p| json!({ "sku": p.sku, "name": p.name, "description": p.description, "unitAmountCents": p.unit_amount_cents }))
        .collect();
    Json(json!({ "publishableKey": shop.publishable_key, "kassaUrl": shop.kassa.base, "currency": CURRENCY, "catalog": catalog }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckoutRequest {
    items: Vec<CartLine>,
    /// Remember the customer's card under this email.
    #[serde(default)]
    email: Option<String>,
}

/// `POST /demo/api/checkout`: a Kassa order for the cart, priced here, and an intent for it.
async fn checkout(State(shop): State<Arc<Shop>>, headers: HeaderMap, bytes: Bytes) -> ShopResult<Response> {
    let req: CheckoutRequest = body(&bytes)?;
    let (total, line_items) = price(&req.items)?;
    let session = match req.email.as_deref().filter(|e| !e.is_empty()) {
        Some(email) => Some(shopper::session(&shop, email, &headers).await?),
        None => None,
    };
    let order = json!({ "currency": CURRENCY, "lineItems": line_items, "customerId": session.as_ref().map(|s| &s.customer_id) });
    let order = shop.kassa.post("/orders", &order).await?;
    let order_id = str_of(&order["id"]).to_owned();
    sqlx::query("INSERT INTO shop_orders (order_id, status, created_at) VALUES ($1, 'awaiting_payment', $2)")
        .bind(&order_id)
        .bind(now_ms())
        .execute(&shop.db)
        .await?;
    // The intent carries the order's balance, its line items and its customer.
    let intent = shop.kassa.post(&format!("/orders/{order_id}/payment-intent"), &json!({})).await?;
    let mut response = Json(json!({
        "clientSecret": intent["clientSecret"],
        "orderId": order_id,
        "amountCents": total,
        "currency": CURRENCY,
        "customerSession": session.as_ref().map(|s| &s.secret),
    }))
    .into_response();
    if let Some(cookie) = session.map(|s| shopper::cookie(&shop, &s.customer_id)) {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateRequest {
    client_secret: String,
    items: Vec<CartLine>,
}

/// `POST /demo/api/checkout/update`: the cart changed; its order and intent follow it.
async fn update(State(shop): State<Arc<Shop>>, bytes: Bytes) -> ShopResult<Json<Value>> {
    let req: UpdateRequest = body(&bytes)?;
    let id = kassa::id::intent_of_client_secret(&req.client_secret).ok_or_else(|| ShopError::not_found("payment intent"))?;
    // Only whoever holds the client secret may change the cart it pays for: Kassa checks it.
    let query = [("clientSecret", req.client_secret.as_str())];
    let intent = shop.kassa.get_with(&format!("/payments/intents/{id}"), &shop.publishable_key, &query).await?;
    let (total, line_items) = price(&req.items)?;
    if let Some(order_id) = intent["orderId"].as_str() {
        shop.kassa.post(&format!("/orders/{order_id}"), &json!({ "lineItems": line_items })).await?;
    }
    shop.kassa.post(&format!("/payments/intents/{id}"), &json!({ "amountCents": total, "lineItems": line_items })).await?;
    Ok(Json(json!({ "amountCents": total, "currency": CURRENCY })))
}

/// `GET /demo/api/payments/{id}`: the shop's own view of one of its payments (its order page).
async fn payment(State(shop): State<Arc<Shop>>, Path(id): Path<String>) -> ShopResult<Json<Value>> {
    let id: kassa::id::PaymentIntentId = id.parse().map_err(|_| ShopError::not_found("payment intent"))?;
    let found = shop.kassa.get(&format!("/payments/transactions/{id}")).await?;
    let IntentWithHistory { intent, transactions } = serde_json::from_value::<IntentWithHistory>(found)
        .map_err(|e| ShopError::upstream(format!("Kassa's payment did not read: {e}")))?;
    let authorizations = transactions.iter().filter(|t| t.kind == TransactionType::Authorize);
    Ok(Json(json!({
        "status": intent.status,
        "amountCents": intent.amount_cents,
        "tipCents": intent.tip_cents,
        "capturedAmountCents": intent.captured_amount_cents,
        "approvedAuthorizations": authorizations.clone().filter(|t| t.status == TransactionStatus::Approved).count(),
        "attempts": authorizations.count(),
    })))
}

/// `POST /demo/api/webhooks`: the shop's receiver. It checks the signature, ignores an event id it
/// has handled, and marks its order paid on `order.paid`.
async fn webhook(State(shop): State<Arc<Shop>>, headers: HeaderMap, bytes: Bytes) -> Response {
    let signature = headers.get("kassa-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Err(e) =
        kassa::webhook::verify(&bytes, signature, &shop.webhook_secret, now_ms() / 1000, kassa::webhook::DEFAULT_TOLERANCE_SECONDS)
    {
        return (StatusCode::BAD_REQUEST, Json(json!({ "received": false, "reason": e.code() }))).into_response();
    }
    let Ok(event) = serde_json::from_slice::<kassa::api::Event>(&bytes) else {
        return (StatusCode::BAD_REQUEST, Json(json!({ "received": false, "reason": "not an event" }))).into_response();
    };
    match handle(&shop, &event).await {
        Ok(first) => Json(json!({ "received": true, "duplicate": !first })).into_response(),
        // Kassa delivers again later.
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Records the event and acts on it in one transaction; false when it was handled before.
async fn handle(shop: &Shop, event: &kassa::api::Event) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let mut tx = shop.db.begin().await?;
    let first = sqlx::query("INSERT INTO processed_events (event_id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(event.id.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if first && event.kind == "order.paid" {
        sqlx::query("UPDATE shop_orders SET status = 'paid', paid_at = $1 WHERE order_id = $2")
            .bind(&event.created_at)
            .bind(event.data["object"]["id"].as_str().unwrap_or_default())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(first)
}

/// `GET /demo/api/orders/{id}`: the shop's own record of an order.
async fn shop_order(State(shop): State<Arc<Shop>>, Path(id): Path<String>) -> ShopResult<Json<Value>> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT status, paid_at FROM shop_orders WHERE order_id = $1").bind(&id).fetch_optional(&shop.db).await?;
    let (status, paid_at) = row.ok_or_else(|| ShopError::not_found("order"))?;
    Ok(Json(json!({ "orderId": id, "status": status, "paidAt": paid_at })))
}

/// `POST /demo/api/kiosk`: an intent for the order at the counter.
async fn kiosk(State(shop): State<Arc<Shop>>, peer: Option<Extension<ConnectInfo<SocketAddr>>>) -> ShopResult<Json<Value>> {
    // Anyone may ask for a kiosk payment: one address gets a few a second, no more.
    if let Some(Extension(ConnectInfo(address))) = peer {
        shop.take_kiosk_token(address.ip())?;
    }
    let (total, line_items) = catalog::kiosk_order();
    let intent = json!({ "amountCents": total, "currency": CURRENCY, "lineItems": line_items, "locationId": "kiosk-1" });
    let intent = shop.kassa.post("/payments/intents", &intent).await?;
    Ok(Json(json!({ "clientSecret": intent["clientSecret"], "publishableKey": shop.publishable_key })))
}

impl Shop {
    /// A token bucket per address: twice the rate at once, then the rate.
    fn take_kiosk_token(&self, ip: IpAddr) -> ShopResult<()> {
        let mut buckets = self.kiosk_buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let burst = 2.0 * KIOSK_INTENTS_PER_SECOND;
        let (tokens, since) = buckets.get(&ip).copied().unwrap_or((burst, now));
        let tokens = (tokens + now.duration_since(since).as_secs_f64() * KIOSK_INTENTS_PER_SECOND).min(burst);
        if tokens < 1.0 {
            buckets.insert(ip, (tokens, now));
            return Err(ShopError::rate_limited(1));
        }
        buckets.insert(ip, (tokens - 1.0, now));
        Ok(())
    }
}
