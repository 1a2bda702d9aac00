//! Idempotency keys and races: no retry charges twice, no two captures both win.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{card, TestApp};
use serde_json::json;

fn sale_body(amount: i64) -> serde_json::Value {
    json!({ "amountCents": amount, "currency": "USD", "card": card("4242424242424242") })
}

#[tokio::test]
async fn a_replay_returns_the_first_response_byte_for_byte() {
    let app = TestApp::new().await;
    let first = app.post_with_key("/api/v1/payments/sale", app.sk(), "order-42-attempt", sale_body(1200)).await;
    first.data(201);
    let replay = app.post_with_key("/api/v1/payments/sale", app.sk(), "order-42-attempt", sale_body(1200)).await;
    assert_eq!(replay.status, first.status);
    assert_eq!(replay.bytes, first.bytes);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(app.all_intent_ids().await.len(), 1);

    // clientRequestId in the body means the same; key order and spacing do not matter.
    let body = r#"{"clientRequestId":"cr-1","currency":"USD","amountCents":900,"card":{"number":"4242424242424242","expMonth":12,"expYear":2034}}"#;
    let first = app.send("POST", "/api/v1/payments/sale", Some(app.sk()), &[], Some(body.as_bytes().to_vec())).await;
    first.data(201);
    let reordered = r#"{ "amountCents": 900, "card": {"expYear":2034, "expMonth":12, "number":"4242424242424242"}, "currency":"USD", "clientRequestId":"cr-1" }"#;
    let replay = app.send("POST", "/api/v1/payments/sale", Some(app.sk()), &[], Some(reordered.as_bytes().to_vec())).await;
    assert_eq!(replay.bytes, first.bytes);
    // The header and the body field name one key.
    let by_header =
        app.send("POST", "/api/v1/payments/sale", Some(app.sk()), &[("idempotency-key", "cr-1")], Some(body.as_bytes().to_vec())).await;
    assert_eq!(by_header.bytes, first.bytes);
    assert_eq!(app.all_intent_ids().await.len(), 2);
}

#[tokio::test]
async fn a_declined_replay_is_the_same_decline() {
    let app = TestApp::new().await;
    let body = json!({ "amountCents": 500, "currency": "USD", "card": card("4000000000009995") });
    let first = app.post_with_key("/api/v1/payments/sale", app.sk(), "decline-1", body.clone()).await;
    first.error(402, "CARD_DECLINED");
    let replay = app.post_with_key("/api/v1/payments/sale", app.sk(), "decline-1", body).await;
    assert_eq!(replay.status, first.status);
    assert_eq!(replay.bytes, first.bytes);
    assert_eq!(app.all_intent_ids().await.len(), 1);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_a_duplicate() {
    let app = TestApp::new().await;
    app.post_with_key("/api/v1/payments/sale", app.sk(), "k-1", sale_body(1000)).await.data(201);
    let other_amount = app.post_with_key("/api/v1/payments/sale", app.sk(), "k-1", sale_body(1001)).await;
    assert_eq!(other_amount.error(409, "DUPLICATE_REQUEST")["details"]["retryable"], false);
    let other_route = app.post_with_key("/api/v1/payments/authorize", app.sk(), "k-1", sale_body(1000)).await;
    other_route.error(409, "DUPLICATE_REQUEST");
    assert_eq!(app.all_intent_ids().await.len(), 1);
    // Keys belong to one merchant: another merchant's same key is its own.
    let other = app.other_merchant().await;
    app.post_with_key("/api/v1/payments/sale", &other.secret_key, "k-1", sale_body(1001)).await.data(201);
}

#[tokio::test]
async fn a_request_refused_before_it_changed_anything_can_be_sent_again() {
    let app = TestApp::new().await;
    let bad = app
        .post_with_key(
            "/api/v1/payments/sale",
            app.sk(),
            "fix-me",
            json!({ "amountCents": 0, "currency": "USD", "card": card("4242424242424242") }),
        )
        .await;
    bad.error(400, "VALIDATION_ERROR");
    app.post_with_key("/api/v1/payments/sale", app.sk(), "fix-me", sale_body(1000)).await.data(201);
}

#[tokio::test]
async fn keys_are_checked() {
    let app = TestApp::new().await;
    let long = "k".repeat(256);
    let by_header = app.post_with_key("/api/v1/payments/sale", app.sk(), &long, sale_body(100)).await;
    assert_eq!(by_header.error(400, "VALIDATION_ERROR")["details"]["field"], "Idempotency-Key");
    let mut body = sale_body(100);
    body["clientRequestId"] = json!(long);
    let in_body = app.post_with_key("/api/v1/payments/sale", app.sk(), "short", body).await;
    assert_eq!(in_body.error(400, "VALIDATION_ERROR")["details"]["field"], "clientRequestId");
    assert!(app.all_intent_ids().await.is_empty());
    app.post_with_key("/api/v1/payments/sale", app.sk(), &"k".repeat(255), sale_body(100)).await.data(201);
}

/// A sale sent with the `Idempotency-Key` header `header` (if any) and `clientRequestId` `body`.
async fn sale_with_keys(app: &TestApp, header: Option<&str>, body: Option<&str>, amount: i64) -> common::TestResponse {
    let mut request = sale_body(amount);
    if let Some(key) = body {
        request["clientRequestId"] = json!(key);
    }
    let headers: Vec<(&str, &str)> = header.map(|h| ("idempotency-key", h)).into_iter().collect();
    app.send("POST", "/api/v1/payments/sale", Some(app.sk()), &headers, Some(request.to_string().into_bytes())).await
}

#[tokio::test]
async fn a_header_and_another_client_request_id_name_one_request() {
    let app = TestApp::new().await;
    // A gateway that adds its own Idempotency-Key to a client's body that carries one already.
    let first = sale_with_keys(&app, Some("gw-1"), Some("order-9"), 900).await;
    first.data(201);
    assert!(first.headers.get("idempotent-replayed").is_none());
    // A retry under either key, both, or the body's key beside a new header is the same request.
    for (header, body) in [(Some("gw-1"), None), (None, Some("order-9")), (Some("order-9"), Some("gw-1")), (Some("gw-2"), Some("order-9"))]
    {
        let replay = sale_with_keys(&app, header, body, 900).await;
        assert_eq!(replay.bytes, first.bytes, "{header:?} {body:?}");
        assert_eq!(replay.headers["idempotent-replayed"], "true");
    }
    // The new header of the last retry names it from now on too.
    assert_eq!(sale_with_keys(&app, Some("gw-2"), None, 900).await.bytes, first.bytes);
    // No name of it is replayed for another request.
    for (header, body) in [(Some("gw-1"), None), (None, Some("order-9")), (Some("gw-2"), None), (Some("gw-3"), Some("order-9"))] {
        let other = sale_with_keys(&app, header, body, 901).await;
        assert_eq!(other.error(409, "DUPLICATE_REQUEST")["details"]["retryable"], false, "{header:?} {body:?}");
    }
    // Two keys that name two different requests are refused, and run neither again.
    let second = sale_with_keys(&app, Some("order-10"), None, 500).await;
    second.data(201);
    let both = sale_with_keys(&app, Some("order-10"), Some("order-9"), 500).await;
    assert_eq!(both.error(409, "DUPLICATE_REQUEST")["details"]["retryable"], false);
    assert_eq!(app.processor.effects_of("sale").len(), 2);
    assert_eq!(app.all_intent_ids().await.len(), 2);
    // The other names are forgotten with the reply, after a day.
    let purged = kassa_server::payments::operation::purge_replies(&app.state, kassa_server::clock::now_ms() + 25 * 3_600_000).await;
    assert_eq!(purged.unwrap(), 4);
    sale_with_keys(&app, None, Some("order-9"), 901).await.data(201);
}

/// The body's key of a request that a gateway resends with a new header each time, racing itself
/// on two servers, some of the copies without the header: one payment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copies_of_one_request_under_new_headers_on_two_servers_make_one_payment() {
    let app = Arc::new(TestApp::with_latency(std::time::Duration::from_millis(50)).await);
    let (_, second) = app.second_server().await;
    let second = Arc::new(second);
    let mut body = sale_body(4300);
    body["clientRequestId"] = json!("order-77");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (app, second, body) = (app.clone(), second.clone(), body.to_string().into_bytes());
            tokio::spawn(async move {
                let authorization = format!("Bearer {}", app.sk());
                let header = format!("attempt-{i}");
                let mut headers = vec![("authorization", authorization.as_str())];
                if i % 3 != 0 {
                    headers.push(("idempotency-key", header.as_str()));
                }
                if i % 2 == 0 {
                    app.send_to(&app.router, "POST", "/api/v1/payments/sale", &headers, Some(body)).await
                } else {
                    app.send_to(&second, "POST", "/api/v1/payments/sale", &headers, Some(body)).await
                }
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        let response = task.await.unwrap();
        match response.status.as_u16() {
            201 => {
                ids.insert(response.json["data"]["id"].as_str().unwrap().to_owned());
            }
            409 => assert_eq!(response.error(409, "DUPLICATE_REQUEST")["details"]["retryable"], true),
            other => panic!("unexpected {other}: {}", response.json),
        }
    }
    assert_eq!(ids.len(), 1, "every success names the same payment");
    assert_eq!(app.processor.effects_of("sale").len(), 1);
    let intents = app.all_intent_ids().await;
    assert_eq!(intents.len(), 1);
    // Once it is done, the body's key alone replays it.
    let replay = sale_with_keys(&app, None, Some("order-77"), 4300).await;
    assert_eq!(replay.data(201)["id"], json!(intents[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_requests_with_one_key_make_one_payment() {
    let app = Arc::new(TestApp::new().await);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.post_with_key("/api/v1/payments/sale", app.sk(), "double-click", sale_body(4200)).await })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        let response = task.await.unwrap();
        match response.status.as_u16() {
            201 => {
                ids.insert(response.json["data"]["id"].as_str().unwrap().to_owned());
            }
            409 => {
                let error = response.error(409, "DUPLICATE_REQUEST");
                assert_eq!(error["details"]["retryable"], true);
            }
            other => panic!("unexpected {other}: {}", response.json),
        }
    }
    assert_eq!(ids.len(), 1, "every success names the same payment");
    assert_eq!(app.all_intent_ids().await, ids.into_iter().collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_captures_of_one_authorization_make_one_capture() {
    let app = Arc::new(TestApp::new().await);
    let id = app.authorized(10_000).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move {
                app.post_with_key("/api/v1/payments/capture", app.sk(), &format!("capture-{i}"), json!({ "paymentIntentId": id })).await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        let response = task.await.unwrap();
        match response.status.as_u16() {
            200 => won += 1,
            _ => {
                response.error(409, "INVALID_STATE");
            }
        }
    }
    assert_eq!(won, 1);
    let history = app.intent(&id).await;
    assert_eq!(history["intent"]["capturedAmountCents"], 10_000);
    let captures = history["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == "capture").count();
    assert_eq!(captures, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refunds_never_pass_the_captured_amount() {
    let app = Arc::new(TestApp::new().await);
    let id = app.captured(1000).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move {
                app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id, "amountCents": 300 })).await
            })
        })
        .collect();
    let mut refunded = 0;
    for task in tasks {
        if task.await.unwrap().status == 200 {
            refunded += 300;
        }
    }
    assert_eq!(refunded, 900);
    assert_eq!(app.intent(&id).await["intent"]["refundedAmountCents"], 900);
}

#[tokio::test]
async fn a_reply_is_replayed_only_to_the_api_key_that_made_the_request() {
    let app = TestApp::new().await;
    let hooks = json!({ "url": "https://shop.example.com/hooks", "events": ["*"] });
    let made = app.post_with_key("/api/v1/webhook-endpoints", app.sk(), "setup-webhooks", hooks.clone()).await;
    let secret = made.data(201)["secret"].as_str().unwrap().to_owned();
    // The publishable key is not answered from the secret key's reply: its own request is refused.
    let stolen = app.post_with_key("/api/v1/webhook-endpoints", app.pk(), "setup-webhooks", hooks.clone()).await;
    stolen.error(403, "FORBIDDEN");
    assert!(!String::from_utf8_lossy(&stolen.bytes).contains(&secret));
    assert!(stolen.headers.get("idempotent-replayed").is_none());
    // The key that made it replays it.
    let replay = app.post_with_key("/api/v1/webhook-endpoints", app.sk(), "setup-webhooks", hooks).await;
    assert_eq!(replay.bytes, made.bytes);

    // Another key of the same merchant with the same idempotency key makes its own request.
    let restricted = app.restricted_key(&["payments.transactions.create"]).await;
    let first = app.post_with_key("/api/v1/payments/sale", app.sk(), "order-7", sale_body(1500)).await;
    let second = app.post_with_key("/api/v1/payments/sale", &restricted, "order-7", sale_body(1500)).await;
    assert_ne!(first.data(201)["id"], second.data(201)["id"]);
    assert!(second.headers.get("idempotent-replayed").is_none());
    assert_eq!(app.processor.effects_of("sale").len(), 2);
}

#[tokio::test]
async fn no_stored_reply_holds_a_secret_in_clear() {
    let app = TestApp::new().await;
    let mut secrets = Vec::new();
    let key = app.post_with_key("/api/v1/api-keys", app.sk(), "new-key", json!({ "kind": "secret" })).await;
    secrets.push(key.data(201)["key"].as_str().unwrap().to_owned());
    let intent =
        app.post_with_key("/api/v1/payments/intents", app.sk(), "new-intent", json!({ "amountCents": 900, "currency": "EUR" })).await;
    secrets.push(intent.data(201)["clientSecret"].as_str().unwrap().to_owned());
    let hook = app
        .post_with_key("/api/v1/webhook-endpoints", app.sk(), "new-hook", json!({ "url": "https://shop.example.com/h", "events": ["*"] }))
        .await;
    secrets.push(hook.data(201)["secret"].as_str().unwrap().to_owned());
    let customer = app.post("/api/v1/customers", app.sk(), json!({ "name": "Jo" })).await.data(201)["id"].as_str().unwrap().to_owned();
    let session = app.post_with_key(&format!("/api/v1/customers/{customer}/sessions"), app.sk(), "new-session", json!({})).await;
    secrets.push(session.data(201)["secret"].as_str().unwrap().to_owned());
    // Each is still replayed, byte for byte.
    let again =
        app.post_with_key("/api/v1/payments/intents", app.sk(), "new-intent", json!({ "amountCents": 900, "currency": "EUR" })).await;
    assert_eq!(again.bytes, intent.bytes);

    // Nowhere in the database: in no stored value and, on SQLite, in no byte of its files.
    let values = app.db.stored_values().await;
    assert!(values.iter().any(|(table, _, _)| table == "idempotency_keys"));
    for (table, column, value) in &values {
        for secret in &secrets {
            assert!(!value.contains(secret.as_str()), "a secret is stored in clear in {table}.{column}");
        }
    }
    if !common::on_postgres() {
        let mut scanned = 0;
        for entry in std::fs::read_dir(app.db.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            scanned += bytes.len();
            let text = String::from_utf8_lossy(&bytes);
            for secret in &secrets {
                assert!(!text.contains(secret.as_str()), "a secret is stored in clear in {}", path.display());
            }
        }
        assert!(scanned > 0);
    }
}

#[tokio::test]
async fn replies_are_forgotten_after_a_day() {
    let app = TestApp::new().await;
    let first = app.post_with_key("/api/v1/payments/sale", app.sk(), "old-key", sale_body(300)).await;
    let now = kassa_server::clock::now_ms();
    // An hour later they are kept...
    assert_eq!(kassa_server::payments::operation::purge_replies(&app.state, now + 3_600_000).await.unwrap(), 0);
    let replay = app.post_with_key("/api/v1/payments/sale", app.sk(), "old-key", sale_body(300)).await;
    assert_eq!(replay.bytes, first.bytes);
    // ...a day later they are gone, and the key names a new request.
    assert_eq!(kassa_server::payments::operation::purge_replies(&app.state, now + 25 * 3_600_000).await.unwrap(), 1);
    let anew = app.post_with_key("/api/v1/payments/sale", app.sk(), "old-key", sale_body(300)).await;
    assert_ne!(anew.data(201)["id"], first.data(201)["id"]);
}
