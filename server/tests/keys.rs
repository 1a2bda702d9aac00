//! Key lifecycle: list, revoke, roll with a grace period.

mod common;

use std::time::Duration;

use common::TestApp;
use kassa_server::caches::KeyCache;
use serde_json::json;

#[tokio::test]
async fn keys_are_listed_without_their_secrets_and_revoked_at_once() {
    let app = TestApp::new().await;
    let made = app
        .post(
            "/api/v1/api-keys",
            app.sk(),
            json!({ "kind": "restricted", "permissions": ["payments.transactions.view"], "name": "Reports" }),
        )
        .await;
    let (id, key) = (made.data(201)["id"].as_str().unwrap().to_owned(), made.data(201)["key"].as_str().unwrap().to_owned());
    app.get("/api/v1/payments/transactions", &key).await.data(200);

    let listed = app.get("/api/v1/api-keys", app.sk()).await;
    let keys = listed.data(200).as_array().unwrap().clone();
    assert_eq!(keys.len(), 3, "the secret, publishable and restricted keys");
    assert!(!String::from_utf8_lossy(&listed.bytes).contains(&key[8..]), "no key is shown again");
    let restricted = keys.iter().find(|k| k["id"] == id.as_str()).unwrap();
    assert_eq!(restricted["hint"], format!("rk_test_…{}", &key[key.len() - 4..]));
    assert_eq!(restricted["name"], "Reports");
    // Only a secret key sees or changes keys.
    app.get("/api/v1/api-keys", app.pk()).await.error(403, "FORBIDDEN");
    app.delete(&format!("/api/v1/api-keys/{id}"), &key).await.error(403, "FORBIDDEN");

    let revoked = app.delete(&format!("/api/v1/api-keys/{id}"), app.sk()).await;
    assert!(revoked.data(200)["revokedAt"].is_string());
    app.get("/api/v1/payments/transactions", &key).await.error(401, "UNAUTHENTICATED");
    app.delete(&format!("/api/v1/api-keys/{id}"), app.sk()).await.error(404, "NOT_FOUND");
    // A key cannot lock its own owner out; another merchant's key is not found.
    let own = app.get("/api/v1/api-keys", app.sk()).await.data(200).as_array().unwrap().iter().find(|k| k["kind"] == "secret").unwrap()
        ["id"]
        .clone();
    app.delete(&format!("/api/v1/api-keys/{}", own.as_str().unwrap()), app.sk()).await.error(409, "INVALID_STATE");
    let other = app.other_merchant().await;
    let made = app.post("/api/v1/api-keys", &other.secret_key, json!({ "kind": "publishable" })).await;
    app.delete(&format!("/api/v1/api-keys/{}", made.data(201)["id"].as_str().unwrap()), app.sk()).await.error(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_revocation_reaches_another_server_on_the_same_database_within_seconds() {
    let mut first = TestApp::new().await;
    let made = first.post("/api/v1/api-keys", first.sk(), json!({ "kind": "secret" })).await;
    let (id, key) = (made.data(201)["id"].as_str().unwrap().to_owned(), made.data(201)["key"].as_str().unwrap().to_owned());
    // The "other server": its own memory, the same database. It has the key cached.
    let other_router = {
        let (router, state) = (first.router.clone(), first.state.clone());
        first.restart().await;
        let second = (first.router.clone(), first.state.clone());
        first.router = router;
        first.state = state;
        second.0
    };
    let on_other = |router: axum::Router, key: String| async move {
        let request = axum::http::Request::get("/api/v1/payments/transactions")
            .header("authorization", format!("Bearer {key}"))
            .body(axum::body::Body::empty())
            .unwrap();
        tower::ServiceExt::oneshot(router, request).await.unwrap().status().as_u16()
    };
    assert_eq!(on_other(other_router.clone(), key.clone()).await, 200);
    first.delete(&format!("/api/v1/api-keys/{id}"), first.sk()).await.data(200);
    let started = std::time::Instant::now();
    while on_other(other_router.clone(), key.clone()).await == 200 {
        assert!(started.elapsed() < KeyCache::TTL + Duration::from_secs(2), "still accepted after {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(on_other(other_router, key).await, 401);
}

#[tokio::test]
async fn a_rolled_key_keeps_working_for_its_grace_period_and_then_stops() {
    let app = TestApp::new().await;
    let made = app.post("/api/v1/api-keys", app.sk(), json!({ "kind": "restricted", "permissions": ["payments.transactions.view"] })).await;
    let (id, old) = (made.data(201)["id"].as_str().unwrap().to_owned(), made.data(201)["key"].as_str().unwrap().to_owned());
    let rolled = app.post(&format!("/api/v1/api-keys/{id}/roll"), app.sk(), json!({ "expiresInSeconds": 1 })).await;
    let new = rolled.data(201)["key"].as_str().unwrap().to_owned();
    assert_eq!(rolled.data(201)["permissions"], json!(["payments.transactions.view"]));
    assert!(new.starts_with("rk_test_") && new != old);
    app.get("/api/v1/payments/transactions", &old).await.data(200);
    app.get("/api/v1/payments/transactions", &new).await.data(200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.get("/api/v1/payments/transactions", &old).await.error(401, "UNAUTHENTICATED");
    app.get("/api/v1/payments/transactions", &new).await.data(200);
    // The new key carries the permissions, no more.
    app.post("/api/v1/payments/sale", &new, json!({})).await.error(403, "FORBIDDEN");
    app.post(&format!("/api/v1/api-keys/{id}/roll"), app.sk(), json!({ "expiresInSeconds": 999_999_999 }))
        .await
        .error(400, "VALIDATION_ERROR");
    app.post(&format!("/api/v1/api-keys/{id}/roll"), app.sk(), json!({})).await.error(409, "INVALID_STATE");
}
