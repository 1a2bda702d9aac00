//! The demo shop's backend against a real kassa-server process: prices from its catalog, its
//! customers, its webhook receiver and its kiosk limit.
//!
//! The server binary is `KASSA_SERVER_BIN`, or the workspace's `target/debug/kassa-server`
//! (`cargo test -p kassa-server -p kassa-shop` builds it before any test runs).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use kassa_shop::{prepare, router, Config, Shop};
use serde_json::{json, Value};

struct Kassa {
    child: Child,
    url: String,
    secret_key: String,
    _dir: tempfile::TempDir,
}

impl Drop for Kassa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("KASSA_SERVER_BIN") {
        return bin.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let bin = target.join("debug/kassa-server");
    assert!(bin.is_file(), "{} is missing: build it with `cargo build -p kassa-server`", bin.display());
    bin
}

/// A kassa-server on a fresh database with one merchant, that may send webhooks to loopback.
fn start_kassa() -> Kassa {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("kassa.db").display());
    let made = Command::new(server_binary()).args(["merchant", "create", "--name", "Shop test", "--database", &database]).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let merchant: Value = serde_json::from_slice(&made.stdout).unwrap();
    let mut child = Command::new(server_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &database, "--webhooks-allow-loopback"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("kassa-server exited before listening").unwrap();
        if let Some(url) = line.strip_prefix("Kassa is listening on ") {
            break url.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Kassa { child, url, secret_key: merchant["secretKey"].as_str().unwrap().to_owned(), _dir: dir }
}

async fn shop_on(kassa: &Kassa, dir: &tempfile::TempDir) -> (Arc<Shop>, axum::Router) {
    let config = Config {
        kassa_url: kassa.url.clone(),
        secret_key: kassa.secret_key.clone(),
        database: format!("sqlite://{}", dir.path().join("shop.db").display()),
        // Nothing listens here: these tests call the receiver themselves.
        public_url: "http://127.0.0.1:9".into(),
    };
    let shop = Arc::new(prepare(&config).await.unwrap());
    let routes = router(shop.clone(), None, None);
    (shop, routes)
}

async fn call(router: &axum::Router, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value, Option<String>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(path).header("content-type", "application/json");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = router.clone().oneshot(request.body(axum::body::Body::from(body.to_owned())).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let cookie = response.headers().get("set-cookie").map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), cookie)
}

async fn kassa_get(kassa: &Kassa, path: &str) -> Value {
    let response = reqwest::Client::new().get(format!("{}/api/v1{path}", kassa.url)).bearer_auth(&kassa.secret_key).send().await.unwrap();
    assert!(response.status().is_success(), "GET {path}: {}", response.status());
    response.json::<Value>().await.unwrap()["data"].clone()
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn prices_come_from_the_catalog_and_the_webhook_marks_the_order_paid_once() {
    let (kassa, dir) = (start_kassa(), tempfile::tempdir().unwrap());
    let (shop, router) = shop_on(&kassa, &dir).await;
    let (status, cart, _) =
        call(&router, "POST", "/demo/api/checkout", &[], &json!({ "items": [{ "sku": "mug", "quantity": 2 }] }).to_string()).await;
    assert_eq!(status, 200, "{cart}");
    assert_eq!(cart["amountCents"], 2800);
    let order_id = cart["orderId"].as_str().unwrap().to_owned();
    // Kassa holds the order and the intent, priced by the shop.
    assert_eq!(kassa_get(&kassa, &format!("/orders/{order_id}")).await["totalCents"], 2800);
    let intent_id = cart["clientSecret"].as_str().unwrap().split("_secret_").next().unwrap().to_owned();
    let intent = kassa_get(&kassa, &format!("/payments/intents/{intent_id}")).await;
    assert_eq!((intent["amountCents"].as_i64(), intent["orderId"].as_str()), (Some(2800), Some(order_id.as_str())));
    let (_, shop_order, _) = call(&router, "GET", &format!("/demo/api/orders/{order_id}"), &[], "").await;
    assert_eq!(shop_order["status"], "awaiting_payment");
    let (status, refused, _) =
        call(&router, "POST", "/demo/api/checkout", &[], &json!({ "items": [{ "sku": "gold-bar", "quantity": 1 }] }).to_string()).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (400, Some("VALIDATION_ERROR")), "no such product");
    let (status, refused, _) = call(&router, "POST", "/demo/api/checkout", &[], "{").await;
    assert_eq!((status, refused["error"]["code"].as_str()), (400, Some("VALIDATION_ERROR")));

    let event = json!({ "id": "evt_shoptest1", "type": "order.paid", "createdAt": "2026-11-21T12:00:00.000Z", "data": { "object": { "id": order_id, "status": "paid" } } }).to_string();
    let forged = kassa::webhook::sign(event.as_bytes(), "whsec_not_the_shops", now());
    let (status, answer, _) = call(&router, "POST", "/demo/api/webhooks", &[("kassa-signature", &forged)], &event).await;
    assert_eq!((status, answer["reason"].as_str()), (400, Some("signature_mismatch")));
    let stale = kassa::webhook::sign(event.as_bytes(), &shop.webhook_secret, now() - 3600);
    let (status, answer, _) = call(&router, "POST", "/demo/api/webhooks", &[("kassa-signature", &stale)], &event).await;
    assert_eq!((status, answer["reason"].as_str()), (400, Some("timestamp_outside_tolerance")));
    let (_, shop_order, _) = call(&router, "GET", &format!("/demo/api/orders/{order_id}"), &[], "").await;
    assert_eq!(shop_order["status"], "awaiting_payment", "refused events change nothing");

    let signed = kassa::webhook::sign(event.as_bytes(), &shop.webhook_secret, now());
    let (status, answer, _) = call(&router, "POST", "/demo/api/webhooks", &[("kassa-signature", &signed)], &event).await;
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(false)));
    let (_, shop_order, _) = call(&router, "GET", &format!("/demo/api/orders/{order_id}"), &[], "").await;
    assert_eq!((shop_order["status"].as_str(), shop_order["paidAt"].as_str()), (Some("paid"), Some("2026-11-21T12:00:00.000Z")));
    let (status, answer, _) = call(&router, "POST", "/demo/api/webhooks", &[("kassa-signature", &signed)], &event).await;
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(true)), "a replayed event id is ignored");
}

#[tokio::test]
async fn a_changed_cart_moves_the_order_and_the_intent_for_whoever_holds_the_client_secret() {
    let (kassa, dir) = (start_kassa(), tempfile::tempdir().unwrap());
    let (_shop, router) = shop_on(&kassa, &dir).await;
    let (_, cart, _) =
        call(&router, "POST", "/demo/api/checkout", &[], &json!({ "items": [{ "sku": "mug", "quantity": 1 }] }).to_string()).await;
    let (secret, order_id) = (cart["clientSecret"].as_str().unwrap().to_owned(), cart["orderId"].as_str().unwrap().to_owned());
    let intent_id = secret.split("_secret_").next().unwrap().to_owned();
    // A made-up secret for the same intent changes nothing.
    let forged = json!({ "clientSecret": format!("{intent_id}_secret_guess"), "items": [{ "sku": "tee", "quantity": 9 }] }).to_string();
    let (status, _, _) = call(&router, "POST", "/demo/api/checkout/update", &[], &forged).await;
    assert!(status == 401 || status == 404, "{status}");
    assert_eq!(kassa_get(&kassa, &format!("/payments/intents/{intent_id}")).await["amountCents"], 1400);
    let update =
        json!({ "clientSecret": secret, "items": [{ "sku": "mug", "quantity": 1 }, { "sku": "stickers", "quantity": 2 }] }).to_string();
    let (status, answer, _) = call(&router, "POST", "/demo/api/checkout/update", &[], &update).await;
    assert_eq!((status, answer["amountCents"].as_i64()), (200, Some(2300)), "{answer}");
    assert_eq!(kassa_get(&kassa, &format!("/payments/intents/{intent_id}")).await["amountCents"], 2300);
    let order = kassa_get(&kassa, &format!("/orders/{order_id}")).await;
    assert_eq!((order["totalCents"].as_i64(), order["lineItems"].as_array().map(Vec::len)), (Some(2300), Some(2)));
}

#[tokio::test]
async fn an_email_alone_never_opens_another_shoppers_saved_cards() {
    let (kassa, dir) = (start_kassa(), tempfile::tempdir().unwrap());
    let (_shop, router) = shop_on(&kassa, &dir).await;
    let body = json!({ "items": [{ "sku": "mug", "quantity": 1 }], "email": "jo@example.com" }).to_string();
    let checkout = |cookie: Option<String>| {
        let (router, body) = (router.clone(), body.clone());
        async move {
            let headers: Vec<(&str, &str)> = cookie.as_deref().map(|c| ("cookie", c)).into_iter().collect();
            let (status, cart, set) = call(&router, "POST", "/demo/api/checkout", &headers, &body).await;
            assert_eq!(status, 200, "{cart}");
            (cart, set)
        }
    };
    let customer_of = |cart: &Value| cart["customerSession"].as_str().unwrap().split("_session_").next().unwrap().to_owned();
    let (first, cookie) = checkout(None).await;
    let cookie = cookie.expect("the shop remembers this browser");
    assert!(cookie.starts_with("kassa_demo_shopper="));
    // The order and its intent belong to that customer at Kassa.
    let order = kassa_get(&kassa, &format!("/orders/{}", first["orderId"].as_str().unwrap())).await;
    assert_eq!(order["customerId"].as_str(), Some(customer_of(&first).as_str()));
    // The same browser is the same customer.
    let (again, _) = checkout(Some(cookie.clone())).await;
    assert_eq!(customer_of(&again), customer_of(&first));
    // Another browser with the same email is someone else; so is a forged cookie.
    let (stranger, _) = checkout(None).await;
    assert_ne!(customer_of(&stranger), customer_of(&first));
    let forged = format!("kassa_demo_shopper={}.{}", customer_of(&first), "0".repeat(64));
    let (forger, _) = checkout(Some(forged)).await;
    assert_ne!(customer_of(&forger), customer_of(&first));
}

#[tokio::test]
async fn kiosk_payments_are_rate_limited_per_address() {
    let (kassa, dir) = (start_kassa(), tempfile::tempdir().unwrap());
    let (_shop, router) = shop_on(&kassa, &dir).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        use tower::ServiceExt;
        let request = axum::http::Request::post("/demo/api/kiosk")
            .extension(axum::extract::ConnectInfo("203.0.113.9:4000".parse::<std::net::SocketAddr>().unwrap()))
            .body(axum::body::Body::empty())
            .unwrap();
        statuses.push(router.clone().oneshot(request).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 4, "a burst of twice the rate: {statuses:?}");
    assert!(statuses.contains(&429));
    // Only the four let through reached Kassa.
    let intents = kassa_get(&kassa, "/payments/transactions").await;
    assert_eq!(intents.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_second_run_retires_the_first_runs_key_and_endpoint() {
    let (kassa, dir) = (start_kassa(), tempfile::tempdir().unwrap());
    let (first, _) = shop_on(&kassa, &dir).await;
    let (second, _) = shop_on(&kassa, &dir).await;
    assert_ne!(first.publishable_key, second.publishable_key);
    let endpoints = kassa_get(&kassa, "/webhook-endpoints").await;
    assert_eq!(endpoints.as_array().unwrap().len(), 1, "{endpoints}");
    let keys = kassa_get(&kassa, "/api-keys").await;
    let publishable = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kind"] == "publishable" && k["name"] == "Demo shop pages" && k["revokedAt"].is_null())
        .count();
    assert_eq!(publishable, 1, "{keys}");
}
