//! Keys and tenancy: the merchant comes from the key; another merchant's object does not exist.

mod common;

use common::{card, TestApp};
use serde_json::json;

#[tokio::test]
async fn another_merchant_sees_nothing_of_ours() {
    let app = TestApp::new().await;
    let other = app.other_merchant().await;
    let b = other.secret_key.as_str();
    let authorized = app.authorized(1000).await;
    let captured = app.captured(1000).await;
    let token = app.post("/api/v1/payment-methods", app.sk(), json!({ "card": card("4242424242424242") })).await.data(201)["id"].clone();

    app.get(&format!("/api/v1/payments/transactions/{authorized}"), b).await.error(404, "NOT_FOUND");
    app.post("/api/v1/payments/capture", b, json!({ "paymentIntentId": authorized })).await.error(404, "NOT_FOUND");
    app.post("/api/v1/payments/void", b, json!({ "paymentIntentId": authorized })).await.error(404, "NOT_FOUND");
    app.post("/api/v1/payments/refund", b, json!({ "paymentIntentId": captured })).await.error(404, "NOT_FOUND");
    app.post(&format!("/api/v1/payments/{captured}/tip"), b, json!({ "tipCents": 100 })).await.error(404, "NOT_FOUND");
    app.post("/api/v1/payments/sale", b, json!({ "amountCents": 100, "currency": "USD", "token": token })).await.error(404, "NOT_FOUND");
    let list = app.get("/api/v1/payments/transactions", b).await;
    assert!(list.data(200).as_array().unwrap().is_empty());
    // A cursor from another merchant's list is not a cursor here.
    app.get(&format!("/api/v1/payments/transactions?cursor={captured}"), b).await.error(400, "VALIDATION_ERROR");
    // Nothing changed.
    assert_eq!(app.intent(&authorized).await["intent"]["status"], "authorized");
    assert_eq!(app.intent(&captured).await["intent"]["refundedAmountCents"], 0);
    assert_eq!(app.all_intent_ids().await.len(), 2);
}

#[tokio::test]
async fn restricted_keys_do_what_they_list() {
    let app = TestApp::new().await;
    let captured = app.captured(1000).await;
    let authorized = app.authorized(1000).await;
    let create_only = app.restricted_key(&["payments.transactions.create"]).await;
    assert!(create_only.starts_with("rk_test_"));
    let void = app.post("/api/v1/payments/void", &create_only, json!({ "paymentIntentId": authorized })).await;
    assert!(void.error(403, "FORBIDDEN")["message"].as_str().unwrap().contains("payments.transactions.void"));
    app.post("/api/v1/payments/refund", &create_only, json!({ "paymentIntentId": captured })).await.error(403, "FORBIDDEN");
    app.get("/api/v1/payments/transactions", &create_only).await.error(403, "FORBIDDEN");
    app.post("/api/v1/payments/sale", &create_only, json!({ "amountCents": 100, "currency": "USD", "card": card("4242424242424242") }))
        .await
        .data(201);
    app.post("/api/v1/payments/capture", &create_only, json!({ "paymentIntentId": authorized })).await.data(200);

    let void_and_view = app.restricted_key(&["payments.transactions.void", "payments.transactions.view"]).await;
    app.post("/api/v1/payments/refund", &void_and_view, json!({ "paymentIntentId": captured, "amountCents": 10 })).await.data(200);
    app.get("/api/v1/payments/transactions", &void_and_view).await.data(200);
    app.post("/api/v1/payments/sale", &void_and_view, json!({ "amountCents": 100, "currency": "USD", "card": card("4242424242424242") }))
        .await
        .error(403, "FORBIDDEN");
    // Only a secret key makes keys.
    app.post("/api/v1/api-keys", &void_and_view, json!({ "kind": "secret" })).await.error(403, "FORBIDDEN");
    app.post("/api/v1/api-keys", app.sk(), json!({ "kind": "restricted" })).await.error(400, "VALIDATION_ERROR");
    app.post("/api/v1/api-keys", app.sk(), json!({ "kind": "restricted", "permissions": ["payments.everything"] }))
        .await
        .error(400, "VALIDATION_ERROR");
    // The refusals changed nothing.
    assert_eq!(app.intent(&captured).await["intent"]["refundedAmountCents"], 10);
}

#[tokio::test]
async fn a_publishable_key_only_tokenizes() {
    let app = TestApp::new().await;
    let authorized = app.authorized(1000).await;
    app.post("/api/v1/payment-methods", app.pk(), json!({ "card": card("4242424242424242") })).await.data(201);
    app.post("/api/v1/payments/capture", app.pk(), json!({ "paymentIntentId": authorized })).await.error(403, "FORBIDDEN");
    app.post("/api/v1/payments/sale", app.pk(), json!({ "amountCents": 100, "currency": "USD", "card": card("4242424242424242") }))
        .await
        .error(403, "FORBIDDEN");
    app.post("/api/v1/payments/void", app.pk(), json!({ "paymentIntentId": authorized })).await.error(403, "FORBIDDEN");
    app.get("/api/v1/payments/transactions", app.pk()).await.error(403, "FORBIDDEN");
    app.get(&format!("/api/v1/payments/transactions/{authorized}"), app.pk()).await.error(403, "FORBIDDEN");
    app.post("/api/v1/api-keys", app.pk(), json!({ "kind": "secret" })).await.error(403, "FORBIDDEN");
    assert_eq!(app.intent(&authorized).await["intent"]["status"], "authorized");
}

#[tokio::test]
async fn keys_are_required_and_checked() {
    let app = TestApp::new().await;
    app.send("GET", "/api/v1/payments/transactions", None, &[], None).await.error(401, "UNAUTHENTICATED");
    app.get("/api/v1/payments/transactions", "sk_test_notarealkey").await.error(401, "UNAUTHENTICATED");
    // A real key with another kind's prefix is not that key.
    let forged = app.sk().replacen("sk_test_", "pk_test_", 1);
    app.get("/api/v1/payments/transactions", &forged).await.error(401, "UNAUTHENTICATED");
    let basic = app.send("GET", "/api/v1/payments/transactions", None, &[("authorization", &format!("Basic {}", app.sk()))], None).await;
    basic.error(401, "UNAUTHENTICATED");
    let x_api_key = app.send("GET", "/api/v1/payments/transactions", None, &[("x-api-key", app.sk())], None).await;
    x_api_key.data(200);
}

#[tokio::test]
async fn keys_are_stored_hashed() {
    let app = TestApp::new().await;
    let restricted = app.restricted_key(&["payments.transactions.view"]).await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT key_hash, key_hint FROM api_keys").fetch_all(app.store.reader()).await.unwrap();
    assert_eq!(rows.len(), 3);
    for key in [app.sk(), app.pk(), restricted.as_str()] {
        for (hash, hint) in &rows {
            assert_ne!(hash, key);
            assert!(!hint.contains(&key[8..key.len() - 4]), "the hint holds the key");
        }
    }
}

#[tokio::test]
async fn a_key_over_its_rate_is_told_to_slow_down() {
    use kassa_server::rate_limit::Limits;
    let app = TestApp::with_limits(Limits { publishable_per_second: 2, ..Limits::default() }).await;
    // A burst of twice the rate passes, then the key waits.
    for _ in 0..4 {
        app.post("/api/v1/payment-methods", app.pk(), json!({ "card": card("4242424242424242") })).await.data(201);
    }
    let limited = app.post("/api/v1/payment-methods", app.pk(), json!({ "card": card("4242424242424242") })).await;
    assert!(limited.error(429, "RATE_LIMITED")["details"]["retryAfterSeconds"].as_u64().unwrap() >= 1);
    assert!(limited.headers.contains_key("retry-after"));
    // Other keys are not held back.
    for _ in 0..10 {
        app.get("/api/v1/payments/transactions", app.sk()).await.data(200);
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    app.post("/api/v1/payment-methods", app.pk(), json!({ "card": card("4242424242424242") })).await.data(201);
    let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM card_tokens").fetch_one(app.store.reader()).await.unwrap();
    assert_eq!(tokens, 5, "the refused request made no token");
}
