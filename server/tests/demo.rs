//! The demo shop's backend: prices from its catalog, and its webhook receiver.

mod common;

use std::sync::Arc;

use common::TestApp;
use kassa_server::{app_with_pages, StaticDirs};
use serde_json::{json, Value};

async fn demo_app() -> (TestApp, Arc<kassa_server::demo::Demo>, axum::Router) {
    let app = TestApp::new().await;
    let demo = Arc::new(kassa_server::demo::prepare(&app.state, "http://127.0.0.1:9").await.unwrap());
    let router = app_with_pages(app.state.clone(), &StaticDirs { beside: Some(kassa_server::demo::routes(demo.clone())), ..StaticDirs::default() });
    (app, demo, router)
}

async fn call(router: &axum::Router, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(path).header("content-type", "application/json");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = router.clone().oneshot(request.body(axum::body::Body::from(body.to_owned())).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn prices_come_from_the_catalog_and_the_webhook_marks_the_order_paid_once() {
    let (_app, demo, router) = demo_app().await;
    let (status, cart) = call(&router, "POST", "/demo/api/checkout", &[], &json!({ "items": [{ "sku": "mug", "quantity": 2 }] }).to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(cart["amountCents"], 2800);
    let order_id = cart["orderId"].as_str().unwrap().to_owned();
    let (_, shop_order) = call(&router, "GET", &format!("/demo/api/orders/{order_id}"), &[], "").await;
    assert_eq!(shop_order["status"], "awaiting_payment");
    let (status, _) = call(&router, "POST", "/demo/api/checkout", &[], &json!({ "items": [{ "sku": "gold-bar", "quantity": 1 }] }).to_string()).await;
    assert_eq!(status, 400, "no such product");

    let event = json!({ "id": "evt_demotest1", "type": "order.paid", "createdAt": "2026-11-21T12:00:00.000Z", "data": { "object": { "id": order_id, "status": "paid" } } }).to_string();
    let forged = kassa::webhook::sign(event.as_bytes(), "whsec_not_the_shops", now());
    let (status, answer) = call(&router, "POST", "/demo/api/webhooks", &[("kassa-signature", &forged)], &event).await;
    assert_eq!((status, answer["reason"].as_str()), (400, Some("signature_mismatch")));
    let stale = kassa::webhook::sign(event.as_bytes(), &demo.webhook_secret, now() - 3600);
    let (status, answer) = call(&router, "POST", "/demo/api/webhooks", &[("kassa-signature", &stale)], &event).await;
    assert_eq!((status, answer["reason"].as_str()), (400, Some("timestamp_outside_tolerance")));
    let (_, shop_order) = call(&router, "GET", &format!("/demo/api/orders/{order_id}"), &[], "").await;
    assert_eq!(shop_order["status"], "awaiting_payment", "refused events change nothing");

    let signed = kassa::webhook::sign(event.as_bytes(), &demo.webhook_secret, now());
    let (status, answer) = call(&router, "POST", "/demo/api/webhooks", &[("kassa-signature", &signed)], &event).await;
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(false)));
    let (_, shop_order) = call(&router, "GET", &format!("/demo/api/orders/{order_id}"), &[], "").await;
    assert_eq!(shop_order["status"], "paid");
    let (status, answer) = call(&router, "POST", "/demo/api/webhooks", &[("kassa-signature", &signed)], &event).await;
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(true)), "a replayed event id is ignored");
}

#[tokio::test]
async fn an_email_alone_never_opens_another_shoppers_saved_cards() {
    let (app, _demo, router) = demo_app().await;
    let checkout = |cookie: Option<String>| {
        let router = router.clone();
        async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let mut request = axum::http::Request::post("/demo/api/checkout").header("content-type", "application/json");
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let body = json!({ "items": [{ "sku": "mug", "quantity": 1 }], "email": "jo@example.com" }).to_string();
            let response = router.oneshot(request.body(axum::body::Body::from(body)).unwrap()).await.unwrap();
            let cookie = response.headers().get("set-cookie").map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (serde_json::from_slice::<Value>(&bytes).unwrap(), cookie)
        }
    };
    let customer_of = |cart: &Value| cart["customerSession"].as_str().unwrap().split("_session_").next().unwrap().to_owned();
    let (first, cookie) = checkout(None).await;
    let cookie = cookie.expect("the shop remembers this browser");
    assert!(cookie.starts_with("kassa_demo_shopper="));
    // The same browser is the same customer.
    let (again, _) = checkout(Some(cookie.clone())).await;
    assert_eq!(customer_of(&again), customer_of(&first));
    // Another browser with the same email is someone else; so is a forged cookie.
    let (stranger, _) = checkout(None).await;
    assert_ne!(customer_of(&stranger), customer_of(&first));
    let forged = format!("kassa_demo_shopper={}.{}", customer_of(&first), "0".repeat(64));
    let (forger, _) = checkout(Some(forged)).await;
    assert_ne!(customer_of(&forger), customer_of(&first));
    drop(app);
}

#[tokio::test]
async fn kiosk_payments_are_rate_limited_per_address() {
    let (_app, _demo, router) = demo_app().await;
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
}
