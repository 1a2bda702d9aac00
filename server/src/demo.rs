//! The demo shop's backend, as a merchant would write it: prices come from its own catalog (never
//! from the browser), and it makes payment intents with its merchant's secret-key powers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use kassa::api::{CaptureMethod, CreateIntentRequest, Customer, KeyKind, LineItem, UpdateIntentRequest, WebhookEndpoint};
use kassa::id::{intent_of_client_secret, CustomerId, MerchantId, WebhookEndpointId};
use kassa::Currency;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::{format_ms, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::JsonBody;
use crate::payments::{self, hash_secret, Ctx};
use crate::state::AppState;
use crate::store::{customers, events, settings};
use crate::{ids, merchants};

/// The demo merchant, a publishable key made for this run (publishable keys are public), and the
/// signing secret of the webhook endpoint the shop registered for this run.
pub struct Demo {
    pub merchant_id: MerchantId,
    pub publishable_key: String,
    pub webhook_secret: String,
    /// Signs the cookie that says which demo customer this browser is (made anew each run).
    pub cookie_key: [u8; 32],
}

/// The cookie that remembers a browser's demo customer: `<customer id>.<HMAC>`.
const SHOPPER_COOKIE: &str = "kassa_demo_shopper";

/// Kiosk intents per second from one address.
const KIOSK_INTENTS_PER_SECOND: u32 = 2;

pub struct Product {
    pub sku: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub unit_amount_cents: i64,
}

pub const CURRENCY: Currency = Currency::EUR;

pub const CATALOG: &[Product] = &[
    Product { sku: "mug", name: "Kassa mug", description: "Stoneware, 350 ml", unit_amount_cents: 1400 },
    Product { sku: "tee", name: "Kassa T-shirt", description: "Organic cotton", unit_amount_cents: 2500 },
    Product { sku: "stickers", name: "Sticker pack", description: "Six die-cut stickers", unit_amount_cents: 450 },
    Product { sku: "notebook", name: "Notebook", description: "A5, dotted", unit_amount_cents: 1150 },
];

/// What a kiosk customer ordered at the counter.
const KIOSK_ORDER: &[(&str, i64, u32)] = &[("Flat white", 380, 2), ("Cinnamon bun", 420, 1)];

/// Finds (or makes, on first start) the demo merchant, gives it a publishable key for this run,
/// and registers the shop's webhook receiver at `public_base` for `order.paid`.
pub async fn prepare(state: &AppState, public_base: &str) -> Result<Demo, sqlx::Error> {
    merchants::create_once(&state.store, "demo_merchant_id", "Kassa Demo Shop").await?;
    let merchant_id: MerchantId = settings::get(&state.store, "demo_merchant_id")
        .await?
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| sqlx::Error::Decode("settings.demo_merchant_id is not a merchant id".into()))?;
    let owner = merchant_id.clone();
    let key = state
        .store
        .write(move |tx| Box::pin(async move { merchants::issue_key(tx, &owner, KeyKind::Publishable, &[], Some("Demo shop page")).await }))
        .await?;
    // One receiver endpoint at a time: the previous run's is retired.
    let previous = settings::get(&state.store, "demo_webhook_endpoint").await?.and_then(|id| id.parse::<WebhookEndpointId>().ok());
    let now = now_ms();
    let secret = ids::secret("whsec_");
    let endpoint = WebhookEndpoint {
        id: ids::new(),
        url: format!("{public_base}/demo/api/webhooks"),
        events: vec!["order.paid".into()],
        enabled: true,
        secret: None,
        created_at: format_ms(now),
    };
    let (owner, signing) = (merchant_id.clone(), state.keyring.seal_text(&secret, &crate::webhooks::secret_context(&endpoint.id)));
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if let Some(previous) = previous {
                    events::delete_endpoint(tx, &owner, &previous, now).await?;
                }
                events::insert_endpoint(tx, &owner, &endpoint, &signing, now).await?;
                settings::set(tx, "demo_webhook_endpoint", endpoint.id.as_str()).await
            })
        })
        .await?;
    Ok(Demo { merchant_id, publishable_key: key.key, webhook_secret: secret, cookie_key: rand::random() })
}

pub fn routes(demo: Arc<Demo>) -> Router<AppState> {
    Router::new()
        .route("/demo/api/config", get(config))
        .route("/demo/api/checkout", post(checkout))
        .route("/demo/api/checkout/update", post(update))
        .route("/demo/api/kiosk", post(kiosk))
        .route("/demo/api/payments/{id}", get(payment))
        .route("/demo/api/webhooks", post(webhook))
        .route("/demo/api/orders/{id}", get(shop_order))
        .layer(axum::Extension(demo))
}

async fn config(axum::Extension(demo): axum::Extension<Arc<Demo>>) -> Json<Value> {
    let catalog: Vec<Value> = CATALOG
        .iter()
        .map(|p| json!({ "sku": p.sku, "name": p.name, "description": p.description, "unitAmountCents": p.unit_amount_cents }))
        .collect();
    Json(json!({ "publishableKey": demo.publishable_key, "currency": CURRENCY, "catalog": catalog }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CartLine {
    sku: String,
    quantity: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckoutRequest {
    items: Vec<CartLine>,
    /// Remember the customer's card under this email.
    #[serde(default)]
    email: Option<String>,
}

/// Prices a cart from the catalog.
fn price(items: &[CartLine]) -> ApiResult<(i64, Vec<LineItem>)> {
    if items.is_empty() || items.len() > 20 {
        return Err(ApiError::validation("items", "a cart holds 1 to 20 lines"));
    }
    let mut lines = Vec::new();
    for (i, line) in items.iter().enumerate() {
        let product = CATALOG
            .iter()
            .find(|p| p.sku == line.sku)
            .ok_or_else(|| ApiError::validation(&format!("items[{i}].sku"), "no such product"))?;
        if !(1..=99).contains(&line.quantity) {
            return Err(ApiError::validation(&format!("items[{i}].quantity"), "quantity must be 1 to 99"));
        }
        lines.push(LineItem { name: product.name.into(), unit_amount_cents: product.unit_amount_cents, quantity: line.quantity, description: Some(product.description.into()) });
    }
    let total = lines.iter().map(|l| l.unit_amount_cents * i64::from(l.quantity)).sum();
    Ok((total, lines))
}

fn ctx<'a>(state: &'a AppState, demo: &'a Demo) -> Ctx<'a> {
    Ctx { state, merchant: &demo.merchant_id, caller: None, key: None, public_base: "" }
}

async fn body_of(response: crate::idempotency::Recorded) -> ApiResult<Value> {
    let value: Value = serde_json::from_slice(&response.body).map_err(ApiError::internal)?;
    Ok(value["data"].clone())
}

fn sign_shopper(demo: &Demo, customer: &CustomerId) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&demo.cookie_key).expect("HMAC takes any key");
    mac.update(customer.as_str().as_bytes());
    format!("{customer}.{}", hex::encode(mac.finalize().into_bytes()))
}

/// The demo customer this browser's signed cookie names, if it carries a good one.
fn shopper_of(demo: &Demo, headers: &HeaderMap) -> Option<CustomerId> {
    use subtle::ConstantTimeEq;
    let cookie = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| c.trim().strip_prefix(&format!("{SHOPPER_COOKIE}=")).map(str::to_owned))?;
    let (id, _) = cookie.split_once('.')?;
    let customer: CustomerId = id.parse().ok()?;
    bool::from(sign_shopper(demo, &customer).as_bytes().ct_eq(cookie.as_bytes())).then_some(customer)
}

/// The customer whose saved cards this browser may use, and a fresh session for them. An email
/// alone never opens anyone's saved cards: the customer must be the one this browser's signed
/// cookie names (made when it first paid with that email); otherwise a new customer is made
/// for this browser, with no saved cards yet.
async fn customer_session(state: &AppState, demo: &Demo, email: &str, headers: &HeaderMap) -> ApiResult<(Customer, String)> {
    if email.len() > 200 || !email.contains('@') {
        return Err(ApiError::validation("email", "email must be an email address"));
    }
    let known = match shopper_of(demo, headers) {
        Some(id) => customers::find(&state.store, &demo.merchant_id, &id).await?.filter(|c| c.email.as_deref() == Some(email)),
        None => None,
    };
    let customer = match known {
        Some(customer) => customer,
        None => {
            let now = now_ms();
            let customer = Customer { id: ids::new(), email: Some(email.into()), name: None, metadata: Default::default(), created_at: format_ms(now) };
            let (merchant, made) = (demo.merchant_id.clone(), customer.clone());
            state.store.write(move |tx| Box::pin(async move { customers::insert(tx, &merchant, &made, now).await })).await?;
            customer
        }
    };
    let now = now_ms();
    let secret = format!("{}_session_{}", customer.id, ids::secret(""));
    let (merchant, id, hash) = (demo.merchant_id.clone(), customer.id.clone(), hash_secret(&secret));
    state
        .store
        .write(move |tx| Box::pin(async move { customers::insert_session(tx, &merchant, &id, &hash, now + 30 * 60 * 1000, now).await }))
        .await?;
    Ok((customer, secret))
}

/// `POST /demo/api/checkout`: an order for the cart, priced here, and an intent for it.
async fn checkout(State(state): State<AppState>, axum::Extension(demo): axum::Extension<Arc<Demo>>, headers: HeaderMap, body: JsonBody) -> ApiResult<Response> {
    let req: CheckoutRequest = body.parse()?;
    let (total, line_items) = price(&req.items)?;
    let session = match req.email.as_deref().filter(|e| !e.is_empty()) {
        Some(email) => Some(customer_session(&state, &demo, email, &headers).await?),
        None => None,
    };
    let now = now_ms();
    let order = crate::orders::new_order(
        kassa::api::CreateOrderRequest {
            currency: CURRENCY,
            line_items: line_items.clone(),
            customer_id: session.as_ref().map(|(c, _)| c.id.to_string()),
            metadata: Default::default(),
            total_cents: None,
            subtotal_cents: None,
            client_request_id: None,
        },
        now,
    )?;
    let (merchant, made) = (demo.merchant_id.clone(), order.clone());
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                crate::store::orders::insert(tx, &merchant, &made).await?;
                sqlx::query("INSERT INTO demo_shop_orders (merchant_id, order_id, status) VALUES ($1, $2, 'awaiting_payment')")
                    .bind(&merchant)
                    .bind(&made.id)
                    .execute(&mut *tx)
                    .await?;
                Ok::<_, sqlx::Error>(())
            })
        })
        .await?;
    let intent = payments::create_intent(
        ctx(&state, &demo),
        CreateIntentRequest {
            amount_cents: total,
            currency: CURRENCY,
            capture_method: CaptureMethod::Automatic,
            order_id: Some(order.id.to_string()),
            customer_id: session.as_ref().map(|(c, _)| c.id.clone()),
            location_id: None,
            line_items,
            metadata: Default::default(),
            client_request_id: None,
        },
    )
    .await?;
    let intent = body_of(intent).await?;
    let cookie = session.as_ref().map(|(customer, _)| {
        format!("{SHOPPER_COOKIE}={}; Path=/demo/; HttpOnly; SameSite=Lax; Max-Age=2592000", sign_shopper(&demo, &customer.id))
    });
    let mut response = Json(json!({
        "clientSecret": intent["clientSecret"],
        "orderId": order.id,
        "amountCents": total,
        "currency": CURRENCY,
        "customerSession": session.map(|(_, secret)| secret),
    }))
    .into_response();
    if let Some(value) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateRequest {
    client_secret: String,
    items: Vec<CartLine>,
}

/// `POST /demo/api/checkout/update`: the cart changed; the intent follows it.
async fn update(State(state): State<AppState>, axum::Extension(demo): axum::Extension<Arc<Demo>>, body: JsonBody) -> ApiResult<Json<Value>> {
    let req: UpdateRequest = body.parse()?;
    let id = intent_of_client_secret(&req.client_secret).ok_or_else(|| ApiError::not_found("payment intent"))?;
    // Only whoever holds the client secret may change the cart it pays for.
    payments::intent_for_client(&ctx(&state, &demo), &id, Some(&req.client_secret)).await?;
    let (total, line_items) = price(&req.items)?;
    // The order the intent pays for follows the cart too.
    let intent = crate::store::intents::find(&state.store, &demo.merchant_id, &id).await?.ok_or_else(|| ApiError::not_found("payment intent"))?;
    if let Some(order_id) = intent.order_id.as_deref().and_then(|o| o.parse::<kassa::id::OrderId>().ok()) {
        let (merchant, items, now) = (demo.merchant_id.clone(), line_items.clone(), now_ms());
        state
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(order) = crate::store::orders::find(tx, &merchant, &order_id).await? else { return Ok(()) };
                    let changed = crate::store::orders::OrderRecord { line_items: items, subtotal_cents: total, total_cents: total, updated_at: now, ..order };
                    if crate::store::orders::update_terms(tx, &merchant, &changed).await? {
                        Ok(())
                    } else {
                        Err(ApiError::invalid_state("This order has payments already"))
                    }
                })
            })
            .await?;
    }
    let change = UpdateIntentRequest { amount_cents: Some(total), line_items: Some(line_items), metadata: None, client_request_id: None };
    payments::update_intent(ctx(&state, &demo), id, change).await?;
    Ok(Json(json!({ "amountCents": total, "currency": CURRENCY })))
}

/// `GET /demo/api/payments/{id}`: the shop's own view of one of its payments (its order page).
async fn payment(State(state): State<AppState>, axum::Extension(demo): axum::Extension<Arc<Demo>>, axum::extract::Path(id): axum::extract::Path<String>) -> ApiResult<Json<Value>> {
    let id: kassa::id::PaymentIntentId = id.parse().map_err(|_| ApiError::not_found("payment intent"))?;
    let intent = crate::store::intents::find(&state.store, &demo.merchant_id, &id).await?.ok_or_else(|| ApiError::not_found("payment intent"))?;
    let history = crate::store::intents::list_transactions(&state.store, &demo.merchant_id, &id).await?;
    let authorizations = history
        .iter()
        .filter(|t| t.kind == kassa::api::TransactionType::Authorize && t.status == kassa::api::TransactionStatus::Approved)
        .count();
    Ok(Json(json!({
        "status": intent.status,
        "amountCents": intent.amount_cents,
        "tipCents": intent.tip_cents,
        "capturedAmountCents": intent.captured_amount_cents,
        "approvedAuthorizations": authorizations,
        "attempts": history.iter().filter(|t| t.kind == kassa::api::TransactionType::Authorize).count(),
    })))
}

/// `POST /demo/api/webhooks`: the shop's receiver. It checks the signature, ignores an event id it
/// has seen, and marks its order paid on `order.paid`.
async fn webhook(State(state): State<AppState>, axum::Extension(demo): axum::Extension<Arc<Demo>>, headers: axum::http::HeaderMap, body: Bytes) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let signature = headers.get("kassa-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Err(e) = kassa::webhook::verify(&body, signature, &demo.webhook_secret, now_ms() / 1000, kassa::webhook::DEFAULT_TOLERANCE_SECONDS) {
        return (StatusCode::BAD_REQUEST, Json(json!({ "received": false, "reason": e.code() }))).into_response();
    }
    let Ok(event) = serde_json::from_slice::<kassa::api::Event>(&body) else {
        return (StatusCode::BAD_REQUEST, Json(json!({ "received": false, "reason": "not an event" }))).into_response();
    };
    let (now, merchant) = (now_ms(), demo.merchant_id.clone());
    let result = state
        .store
        .write(move |tx| {
            Box::pin(async move {
                let first = sqlx::query(
                    "INSERT INTO demo_processed_events (merchant_id, event_id, received_at) VALUES ($3, $1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(&event.id)
                .bind(now)
                .bind(&merchant)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if first && event.kind == "order.paid" {
                    sqlx::query("UPDATE demo_shop_orders SET status = 'paid', paid_at = $1 WHERE merchant_id = $3 AND order_id = $2")
                        .bind(now)
                        .bind(event.data["object"]["id"].as_str().unwrap_or_default())
                        .bind(&merchant)
                        .execute(&mut *tx)
                        .await?;
                }
                Ok::<_, sqlx::Error>(first)
            })
        })
        .await;
    match result {
        Ok(first) => Json(json!({ "received": true, "duplicate": !first })).into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// `GET /demo/api/orders/{id}`: the shop's own record of an order.
async fn shop_order(State(state): State<AppState>, axum::Extension(demo): axum::Extension<Arc<Demo>>, axum::extract::Path(id): axum::extract::Path<String>) -> ApiResult<Json<Value>> {
    let row: Option<(String, Option<i64>)> = sqlx::query_as("SELECT status, paid_at FROM demo_shop_orders WHERE merchant_id = $2 AND order_id = $1")
        .bind(&id)
        .bind(&demo.merchant_id)
        .fetch_optional(state.store.reader())
        .await?;
    let (status, paid_at) = row.ok_or_else(|| ApiError::not_found("order"))?;
    Ok(Json(json!({ "orderId": id, "status": status, "paidAt": paid_at.map(format_ms) })))
}

/// `POST /demo/api/kiosk`: an intent for the order at the counter.
async fn kiosk(
    State(state): State<AppState>,
    axum::Extension(demo): axum::Extension<Arc<Demo>>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
) -> ApiResult<Json<Value>> {
    // Anyone may ask for a kiosk payment: one address gets a few a second, no more.
    if let Some(axum::Extension(axum::extract::ConnectInfo(address))) = peer {
        state
            .rate_limiter
            .check_named(&demo.merchant_id, format!("demo-kiosk:{}", address.ip()), KIOSK_INTENTS_PER_SECOND)
            .await
            .map_err(crate::http::auth::rate_limited)?;
    }
    let line_items: Vec<LineItem> = KIOSK_ORDER
        .iter()
        .map(|(name, cents, quantity)| LineItem { name: (*name).into(), unit_amount_cents: *cents, quantity: *quantity, description: None })
        .collect();
    let total = line_items.iter().map(|l| l.unit_amount_cents * i64::from(l.quantity)).sum();
    let intent = payments::create_intent(
        ctx(&state, &demo),
        CreateIntentRequest {
            amount_cents: total,
            currency: CURRENCY,
            capture_method: CaptureMethod::Automatic,
            order_id: None,
            customer_id: None,
            location_id: Some("kiosk-1".into()),
            line_items,
            metadata: Default::default(),
            client_request_id: None,
        },
    )
    .await?;
    let intent = body_of(intent).await?;
    Ok(Json(json!({ "clientSecret": intent["clientSecret"], "publishableKey": demo.publishable_key })))
}
