//! The holes a payments security review found, each tried the way it was found.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use common::{card, TestApp};
use http_body_util::BodyExt;
use kassa_server::rate_limit::Limits;
use serde_json::{json, Value};
use tower::ServiceExt;

#[tokio::test]
async fn the_books_never_go_negative_and_a_tip_is_bounded() {
    let app = TestApp::new().await;
    // Authorize 1000, tip 200, capture 100, tip 0: once -100 captured.
    let id = app.authorized(1000).await;
    app.post(&format!("/api/v1/payments/{id}/tip"), app.sk(), json!({ "tipCents": 200 })).await.data(200);
    let partial = app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": id, "amountCents": 100 })).await;
    assert_eq!(partial.error(400, "VALIDATION_ERROR")["details"]["field"], "amountCents", "a capture covers the tip");
    let captured = app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": id, "amountCents": 300 })).await;
    assert_eq!(captured.data(200)["capturedAmountCents"], 300);
    // A partial capture is final: no tip changes what was captured.
    app.post(&format!("/api/v1/payments/{id}/tip"), app.sk(), json!({ "tipCents": 0 })).await.error(409, "INVALID_STATE");
    assert_eq!(app.intent(&id).await["intent"]["capturedAmountCents"], 300);

    // A tip of ten billion on a captured sale once made ten billion refundable.
    let sale = app.captured(1000).await;
    let huge = app.post(&format!("/api/v1/payments/{sale}/tip"), app.sk(), json!({ "tipCents": 10_000_000_000i64 })).await;
    assert_eq!(huge.error(400, "VALIDATION_ERROR")["details"]["field"], "tipCents");
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": sale, "amountCents": 1001 }))
        .await
        .error(409, "INVALID_STATE");
    // A tip above the authorization follows the processor's rule: the sandbox, as card networks
    // do, takes a total up to a fifth above what it authorized, and the capture follows it.
    let past = app.post(&format!("/api/v1/payments/{sale}/tip"), app.sk(), json!({ "tipCents": 201 })).await;
    let message = past.error(409, "INVALID_STATE")["message"].as_str().unwrap().to_owned();
    assert!(message.contains("at most a fifth above the 1000 it authorized (1200)"), "{message}");
    assert_eq!(app.intent(&sale).await["intent"]["capturedAmountCents"], 1000, "nothing changed");
    assert!(app.processor.effects_of("tip").iter().all(|e| e.amount_cents != 201));
    let tipped = app.post(&format!("/api/v1/payments/{sale}/tip"), app.sk(), json!({ "tipCents": 200 })).await;
    assert_eq!(tipped.data(200)["capturedAmountCents"], 1200);
    // Measured against the authorization, not the tipped total: 1000 + 240 is past it.
    app.post(&format!("/api/v1/payments/{sale}/tip"), app.sk(), json!({ "tipCents": 240 })).await.error(409, "INVALID_STATE");
    // After a refund, the tip is settled.
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": sale, "amountCents": 100 })).await.data(200);
    app.post(&format!("/api/v1/payments/{sale}/tip"), app.sk(), json!({ "tipCents": 0 })).await.error(409, "INVALID_STATE");
    let books = app.intent(&sale).await["intent"].clone();
    assert_eq!((books["capturedAmountCents"].as_i64(), books["refundedAmountCents"].as_i64()), (Some(1200), Some(100)));
}

#[tokio::test]
async fn the_database_itself_refuses_books_that_do_not_add_up() {
    let app = TestApp::new().await;
    let id = app.captured(1000).await;
    let mut db = app.db.connect().await;
    for bad in [
        "UPDATE payment_intents SET refunded_amount_cents = 1001",
        "UPDATE payment_intents SET captured_amount_cents = -400",
        "UPDATE payment_intents SET tip_cents = -1",
        "UPDATE payment_intents SET tip_cents = 10000000000",
        "UPDATE payment_intents SET captured_amount_cents = 5000",
    ] {
        let result = sqlx::query(&format!("{bad} WHERE id = '{id}'")).execute(&mut db).await;
        // SQLite's trigger and PostgreSQL's check constraint each name the invariant.
        assert!(result.is_err_and(|e| e.to_string().replace('_', " ").contains("money invariant")), "{bad}");
    }
    assert_eq!(app.intent(&id).await["intent"]["capturedAmountCents"], 1000);

    // A refund goes down only by what is recorded as reversed (a refund the processor failed
    // after accepting it), and a reversal is never undone.
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id, "amountCents": 300 })).await.data(200);
    for bad in [
        "UPDATE payment_intents SET refunded_amount_cents = 100",
        "UPDATE payment_intents SET refunded_amount_cents = 100, refund_reversed_cents = refund_reversed_cents + 100",
    ] {
        let result = sqlx::query(&format!("{bad} WHERE id = '{id}'")).execute(&mut db).await;
        assert!(result.is_err_and(|e| e.to_string().replace('_', " ").contains("money invariant")), "{bad}");
    }
    let reversal = "UPDATE payment_intents SET refunded_amount_cents = 100, refund_reversed_cents = refund_reversed_cents + 200";
    sqlx::query(&format!("{reversal} WHERE id = '{id}'")).execute(&mut db).await.expect("a recorded reversal");
    let undone = sqlx::query(&format!("UPDATE payment_intents SET refund_reversed_cents = 0 WHERE id = '{id}'")).execute(&mut db).await;
    assert!(undone.is_err_and(|e| e.to_string().replace('_', " ").contains("money invariant")));
    assert_eq!(app.intent(&id).await["intent"]["refundedAmountCents"], 100);
}

#[tokio::test]
async fn a_payment_for_an_order_is_in_its_currency_and_needs_orders_manage() {
    let app = TestApp::new().await;
    let order = app
        .post(
            "/api/v1/orders",
            app.sk(),
            json!({ "currency": "USD", "lineItems": [{ "name": "Tea", "unitAmountCents": 500, "quantity": 1 }] }),
        )
        .await;
    let order_id = order.data(201)["id"].as_str().unwrap().to_owned();
    // A sale in VND named the USD order and marked it paid.
    let vnd = app
        .post(
            "/api/v1/payments/sale",
            app.sk(),
            json!({ "amountCents": 500, "currency": "VND", "orderId": order_id, "card": card("4242424242424242") }),
        )
        .await;
    assert_eq!(vnd.error(400, "VALIDATION_ERROR")["details"]["field"], "currency");
    let intent =
        app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 500, "currency": "EUR", "orderId": order_id })).await;
    intent.error(400, "VALIDATION_ERROR");
    // A key that may only take payments may not touch orders.
    let payments_only = app.restricted_key(&["payments.transactions.create"]).await;
    let sale = app
        .post(
            "/api/v1/payments/sale",
            &payments_only,
            json!({ "amountCents": 500, "currency": "USD", "orderId": order_id, "card": card("4242424242424242") }),
        )
        .await;
    sale.error(403, "FORBIDDEN");
    let unknown = app
        .post(
            "/api/v1/payments/sale",
            app.sk(),
            json!({ "amountCents": 500, "currency": "USD", "orderId": "ord_0000000000000000000000", "card": card("4242424242424242") }),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(app.get(&format!("/api/v1/orders/{order_id}"), app.sk()).await.data(200)["status"], "open");
    assert!(app.processor.effects().is_empty(), "none of these reached the processor");
    // The shop's own number is a reference, which links nothing and needs nothing more; as an
    // orderId it is refused. The right payment pays the order.
    let shop_number = app
        .post(
            "/api/v1/payments/sale",
            &payments_only,
            json!({ "amountCents": 500, "currency": "USD", "orderId": "shop-1001", "card": card("4242424242424242") }),
        )
        .await;
    assert_eq!(shop_number.error(400, "VALIDATION_ERROR")["details"]["field"], "orderId");
    let referenced = app
        .post(
            "/api/v1/payments/sale",
            &payments_only,
            json!({ "amountCents": 500, "currency": "USD", "reference": "shop-1001", "card": card("4242424242424242") }),
        )
        .await;
    assert_eq!(referenced.data(201)["reference"], "shop-1001");
    app.post(
        "/api/v1/payments/sale",
        app.sk(),
        json!({ "amountCents": 500, "currency": "USD", "orderId": order_id, "card": card("4242424242424242") }),
    )
    .await
    .data(201);
    assert_eq!(app.get(&format!("/api/v1/orders/{order_id}"), app.sk()).await.data(200)["status"], "paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_amount_cannot_change_while_a_confirm_is_at_the_processor() {
    let app = Arc::new(TestApp::with_latency(Duration::from_millis(300)).await);
    let created = app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 1000, "currency": "EUR" })).await;
    let (id, secret) =
        (created.data(201)["id"].as_str().unwrap().to_owned(), created.data(201)["clientSecret"].as_str().unwrap().to_owned());
    let token = app.post("/api/v1/payment-methods", app.pk(), json!({ "card": card("4242424242424242") })).await.data(201)["id"].clone();
    let confirm = {
        let (app, id) = (app.clone(), id.clone());
        tokio::spawn(async move {
            app.post(&format!("/api/v1/payments/intents/{id}/confirm"), app.pk(), json!({ "clientSecret": secret, "token": token })).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let update = app.post(&format!("/api/v1/payments/intents/{id}"), app.sk(), json!({ "amountCents": 1 })).await;
    update.error(409, "INVALID_STATE");
    assert_eq!(confirm.await.unwrap().data(200)["status"], "captured");
    let intent = app.intent(&id).await["intent"].clone();
    assert_eq!((intent["amountCents"].as_i64(), intent["capturedAmountCents"].as_i64()), (Some(1000), Some(1000)));
    assert_eq!(app.processor.effects_of("sale")[0].amount_cents, 1000);
}

async fn confirm(app: &TestApp, id: &str, body: Value) -> common::TestResponse {
    app.post(&format!("/api/v1/payments/intents/{id}/confirm"), app.pk(), body).await
}

#[tokio::test]
async fn an_intent_takes_five_declined_attempts_and_then_is_canceled() {
    let app = TestApp::new().await;
    let created = app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 1000, "currency": "EUR" })).await;
    let (id, secret) =
        (created.data(201)["id"].as_str().unwrap().to_owned(), created.data(201)["clientSecret"].as_str().unwrap().to_owned());
    for attempt in 1..=5 {
        let declined = confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4000000000000002") })).await;
        declined.error(402, "CARD_DECLINED");
        let status = app.intent(&id).await["intent"]["status"].clone();
        assert_eq!(status, if attempt < 5 { "requires_payment_method" } else { "canceled" }, "after attempt {attempt}");
    }
    // A good card no longer reaches the processor.
    confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4242424242424242") })).await.error(409, "INVALID_STATE");
    assert!(app.processor.effects().is_empty());
    let events = app.get("/api/v1/events?type=payment_intent.canceled", app.sk()).await;
    let events = events.data(200).as_array().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["object"]["id"], id.as_str());
}

#[tokio::test]
async fn a_publishable_key_is_not_told_a_card_is_lost_or_stolen_nor_the_cvc_result() {
    let app = TestApp::new().await;
    for (number, code) in [("4000000000009987", "lost_card"), ("4000000000009979", "stolen_card")] {
        let created = app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 1000, "currency": "EUR" })).await;
        let (id, secret) =
            (created.data(201)["id"].as_str().unwrap().to_owned(), created.data(201)["clientSecret"].as_str().unwrap().to_owned());
        let declined = confirm(&app, &id, json!({ "clientSecret": secret, "card": card(number) })).await;
        assert_eq!(declined.error(402, "CARD_DECLINED")["details"]["declineCode"], "generic_decline");
        assert!(!String::from_utf8_lossy(&declined.bytes).contains(code));
        let seen = app.get(&format!("/api/v1/payments/intents/{id}?clientSecret={secret}"), app.pk()).await;
        assert_eq!(seen.data(200)["lastError"]["declineCode"], "generic_decline");
        assert!(!String::from_utf8_lossy(&seen.bytes).contains(code));
        // The shop's server sees the truth.
        assert_eq!(app.intent(&id).await["intent"]["lastError"]["declineCode"], code);
    }
    let created = app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 1000, "currency": "EUR" })).await;
    let (id, secret) =
        (created.data(201)["id"].as_str().unwrap().to_owned(), created.data(201)["clientSecret"].as_str().unwrap().to_owned());
    let paid = confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4242424242424242") })).await;
    assert_eq!(paid.data(200)["cvvResponse"], Value::Null);
    assert_eq!(app.intent(&id).await["intent"]["cvvResponse"], "M");
}

#[tokio::test]
async fn card_attempts_are_limited_per_client_address_whatever_the_key() {
    let app = TestApp::with_limits(Limits {
        publishable_per_second: 0,
        secret_per_second: 0,
        card_attempts_per_address_per_second: 2,
        ..Limits::default()
    })
    .await;
    let second_pk =
        app.post("/api/v1/api-keys", app.sk(), json!({ "kind": "publishable" })).await.data(201)["key"].as_str().unwrap().to_owned();
    let tokenize = |key: String, address: &str| {
        let address: SocketAddr = address.parse().unwrap();
        let request = Request::post("/api/v1/payment-methods")
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .extension(ConnectInfo(address))
            .body(Body::from(json!({ "card": card("4242424242424242") }).to_string()))
            .unwrap();
        let router = app.router.clone();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").is_some();
            let _ = response.into_body().collect().await;
            (status, retry_after)
        }
    };
    let mut statuses = Vec::new();
    for i in 0..8 {
        let key = if i % 2 == 0 { app.pk().to_owned() } else { second_pk.clone() };
        statuses.push(tokenize(key, "203.0.113.7:5000").await.0);
    }
    // A burst of twice the rate, then refused, though the attempts were spread over two keys.
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 4, "{statuses:?}");
    let (status, retry_after) = tokenize(app.pk().to_owned(), "203.0.113.7:5001").await;
    assert_eq!((status, retry_after), (429, true));
    // Another address is not held back by the first one.
    assert_eq!(tokenize(app.pk().to_owned(), "198.51.100.9:5000").await.0, 201);
    // A shop's server (secret key) is not limited per address.
    for _ in 0..6 {
        assert_eq!(tokenize(app.sk().to_owned(), "203.0.113.7:5002").await.0, 201);
    }
}

#[tokio::test]
async fn return_url_cannot_send_the_cardholder_to_another_site() {
    let app = TestApp::new().await;
    for bad in [
        "https://evil.example/phish",
        "https://shop.test@evil.example/",
        "javascript:alert(1)",
        "https://shop.test\\@evil.example/",
        "//evil.example/x",
    ] {
        let created = app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 1000, "currency": "EUR" })).await;
        let (id, secret) =
            (created.data(201)["id"].as_str().unwrap().to_owned(), created.data(201)["clientSecret"].as_str().unwrap().to_owned());
        let body = json!({ "clientSecret": secret, "card": card("4000002760003184"), "returnUrl": bad }).to_string();
        let refused = app
            .send(
                "POST",
                &format!("/api/v1/payments/intents/{id}/confirm"),
                Some(app.pk()),
                &[("origin", "https://shop.test")],
                Some(body.into_bytes()),
            )
            .await;
        assert_eq!(refused.error(400, "VALIDATION_ERROR")["details"]["field"], "returnUrl", "{bad}");
    }
    assert!(app.processor.effects().is_empty());
    let created = app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 1000, "currency": "EUR" })).await;
    let (id, secret) =
        (created.data(201)["id"].as_str().unwrap().to_owned(), created.data(201)["clientSecret"].as_str().unwrap().to_owned());
    let body =
        json!({ "clientSecret": secret, "card": card("4000002760003184"), "returnUrl": "https://shop.test/done?order=7" }).to_string();
    let ok = app
        .send(
            "POST",
            &format!("/api/v1/payments/intents/{id}/confirm"),
            Some(app.pk()),
            &[("origin", "https://shop.test")],
            Some(body.into_bytes()),
        )
        .await;
    assert_eq!(ok.data(200)["status"], "requires_action");
}

#[tokio::test]
async fn the_bank_page_admits_every_page_around_an_embedded_checkout() {
    let app = TestApp::new().await;
    let created = app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 1000, "currency": "EUR" })).await;
    let (id, secret) =
        (created.data(201)["id"].as_str().unwrap().to_owned(), created.data(201)["clientSecret"].as_str().unwrap().to_owned());
    // The checkout (its own origin) confirms, and names the shop page it is embedded in.
    let path = format!("/api/v1/payments/intents/{id}/confirm");
    let confirm = |ancestors: Value| {
        let body = json!({ "clientSecret": secret, "card": card("4000002760003184"), "frameAncestors": ancestors }).to_string();
        app.send("POST", &path, Some(app.pk()), &[("origin", "http://pay.test:8080")], Some(body.into_bytes()))
    };
    for bad in [
        json!(["https://shop.test/path"]),
        json!(["javascript:x"]),
        json!(["https://a.test", "https://b.test", "https://c.test", "https://d.test"]),
        json!(["https://u@shop.test"]),
    ] {
        assert_eq!(confirm(bad.clone()).await.error(400, "VALIDATION_ERROR")["details"]["field"], "frameAncestors", "{bad}");
    }
    let pending = confirm(json!(["http://localhost:3000"])).await;
    let url = pending.data(200)["nextAction"]["url"].as_str().unwrap().to_owned();
    let path = url.split_once("://").map(|(_, rest)| rest[rest.find('/').unwrap()..].to_owned()).unwrap();
    let page = app.send("GET", &path, None, &[], None).await;
    let csp = page.headers["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.ends_with("frame-ancestors http://pay.test:8080 http://localhost:3000"), "{csp}");
}

/// What an unkeyed digest of `data` looks like stored: hex, either case.
fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// The fingerprint as it was once stored: an unkeyed SHA-256 of method, path and the body with its
/// keys sorted, which anyone with the database could match against every card number.
fn unkeyed_fingerprint(path: &str, body: &Value) -> String {
    fn canonical(value: &Value, out: &mut Vec<u8>) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push(b'{');
                for key in keys {
                    out.extend(Value::String(key.clone()).to_string().as_bytes());
                    out.push(b':');
                    canonical(&map[key], out);
                    out.push(b',');
                }
                out.push(b'}');
            }
            Value::Array(items) => {
                out.push(b'[');
                for item in items {
                    canonical(item, out);
                    out.push(b',');
                }
                out.push(b']');
            }
            scalar => out.extend(scalar.to_string().as_bytes()),
        }
    }
    let mut text = format!("POST {path}\n").into_bytes();
    canonical(body, &mut text);
    sha256_hex(&text)
}

#[tokio::test]
async fn no_stored_value_is_an_unkeyed_digest_of_a_card_request_number_or_cvc() {
    let app = TestApp::new().await;
    let (number, cvc) = ("4242424242424242", "371");
    let card = json!({ "number": number, "expMonth": 12, "expYear": 2034, "cvc": cvc, "postalCode": "94107" });
    let customer = app.post("/api/v1/customers", app.sk(), json!({ "name": "Jo" })).await.data(201)["id"].clone();
    let intent =
        app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 700, "currency": "USD", "customerId": customer })).await;
    let (intent_id, secret) = (intent.data(201)["id"].as_str().unwrap().to_owned(), intent.data(201)["clientSecret"].clone());
    let requests = [
        ("/api/v1/payments/sale".to_owned(), app.sk().to_owned(), json!({ "amountCents": 1000, "currency": "USD", "card": card })),
        ("/api/v1/payment-methods".to_owned(), app.pk().to_owned(), json!({ "card": card })),
        (format!("/api/v1/payments/intents/{intent_id}/confirm"), app.pk().to_owned(), json!({ "clientSecret": secret, "card": card })),
    ];
    let mut suspects = vec![sha256_hex(number.as_bytes()), sha256_hex(format!("{number}{cvc}").as_bytes()), sha256_hex(cvc.as_bytes())];
    for (i, (path, key, body)) in requests.iter().enumerate() {
        let idempotency_key = format!("card-request-{i}");
        let first = app.post_with_key(path, key, &idempotency_key, body.clone()).await;
        assert!(first.status.is_success(), "{path}: {} {}", first.status, first.json);
        // The key still works: the same request replays, another one is refused.
        let again = app.post_with_key(path, key, &idempotency_key, body.clone()).await;
        assert_eq!((again.status, again.bytes.clone()), (first.status, first.bytes.clone()), "{path} replays");
        let mut other = body.clone();
        other["card"]["cvc"] = json!("999");
        app.post_with_key(path, key, &idempotency_key, other).await.error(409, "DUPLICATE_REQUEST");
        suspects.push(sha256_hex(body.to_string().as_bytes()));
        // The path as the router nests it too.
        suspects.push(unkeyed_fingerprint(path, body));
        suspects.push(unkeyed_fingerprint(path.trim_start_matches("/api/v1"), body));
    }
    let values = app.db.stored_values().await;
    let fingerprints: Vec<_> = values.iter().filter(|(table, column, _)| table == "idempotency_keys" && column == "fingerprint").collect();
    assert_eq!(fingerprints.len(), 3, "each keyed request is kept");
    for (table, column, value) in &values {
        let value = value.to_ascii_lowercase();
        for suspect in &suspects {
            assert!(!value.contains(suspect), "{table}.{column} holds an unkeyed SHA-256 of card data");
        }
    }
}

/// One card tokenization with the publishable key from the TCP peer `peer`, with `headers`.
async fn tokenize_from(app: &TestApp, peer: &str, headers: &[(&str, &str)]) -> u16 {
    let body = json!({ "card": card("4242424242424242") });
    app.send_from_with(peer, "POST", "/api/v1/payment-methods", Some(app.pk()), headers, Some(body)).await.status.as_u16()
}

/// Card attempts allowed two a second, so a burst of four.
async fn card_limited_app() -> TestApp {
    TestApp::with_limits(Limits {
        publishable_per_second: 0,
        secret_per_second: 0,
        card_attempts_per_address_per_second: 2,
        ..Limits::default()
    })
    .await
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_card_attempts() {
    let mut app = card_limited_app().await;
    app.trust_proxies(&["10.0.0.0/8"]);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(tokenize_from(&app, "10.0.0.2:40000", &[("x-forwarded-for", "198.51.100.1")]).await);
    }
    assert_eq!(statuses, [201, 201, 201, 201, 429]);
    // What the client wrote left of what the proxy appended does not make it another client, nor
    // does a second proxy of the same network.
    assert_eq!(tokenize_from(&app, "10.0.0.2:40001", &[("x-forwarded-for", "192.0.2.99, 198.51.100.1")]).await, 429);
    assert_eq!(tokenize_from(&app, "10.0.0.3:40000", &[("x-forwarded-for", "198.51.100.1, 10.0.0.2")]).await, 429);
    // Another client behind the same proxy is not held back by the first.
    assert_eq!(tokenize_from(&app, "10.0.0.2:40002", &[("x-forwarded-for", "198.51.100.2")]).await, 201);
}

#[tokio::test]
async fn a_forged_x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit() {
    let mut app = card_limited_app().await;
    app.trust_proxies(&["10.0.0.0/8"]);
    let mut statuses = Vec::new();
    for i in 0..6 {
        let forged = format!("198.51.100.{i}");
        statuses
            .push(tokenize_from(&app, "203.0.113.7:5000", &[("x-forwarded-for", &forged), ("forwarded", &format!("for={forged}"))]).await);
    }
    assert_eq!(statuses, [201, 201, 201, 201, 429, 429]);
    // Through the proxy the client is still itself, whatever it adds left of its address.
    assert_eq!(tokenize_from(&app, "10.0.0.2:40000", &[("x-forwarded-for", "203.0.113.7")]).await, 429);
    assert_eq!(tokenize_from(&app, "10.0.0.2:40000", &[("x-forwarded-for", "198.51.100.50, 203.0.113.7")]).await, 429);
}

#[tokio::test]
async fn ipv6_clients_share_card_attempts_with_their_64() {
    let app = card_limited_app().await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        // A new address of the same /64 for each attempt.
        statuses.push(tokenize_from(&app, &format!("[2001:db8:1:2:{:x}::1]:5000", i + 1), &[]).await);
    }
    assert_eq!(statuses, [201, 201, 201, 201, 429]);
    assert_eq!(tokenize_from(&app, "[2001:db8:1:3::1]:5000", &[]).await, 201, "another /64");
    // An IPv4-mapped peer is the IPv4 address.
    for _ in 0..4 {
        assert_eq!(tokenize_from(&app, "203.0.113.7:5000", &[]).await, 201);
    }
    assert_eq!(tokenize_from(&app, "[::ffff:203.0.113.7]:5000", &[]).await, 429);
}

#[tokio::test]
async fn the_forwarded_header_of_a_trusted_proxy_names_the_client() {
    let mut app = card_limited_app().await;
    app.state.forwarded_header = kassa_server::http::address::ForwardedHeader::Forwarded;
    app.trust_proxies(&["10.0.0.2", "2001:db8:ffff::/48"]);
    let mut statuses = Vec::new();
    for i in 0..5 {
        // The client's own X-Forwarded-For, passed on by a proxy that writes Forwarded, is not read.
        let forged = format!("198.51.100.{i}");
        statuses.push(
            tokenize_from(
                &app,
                "10.0.0.2:40000",
                &[("forwarded", r#"for="[2001:db8::1]:4711";proto=https"#), ("x-forwarded-for", &forged)],
            )
            .await,
        );
    }
    assert_eq!(statuses, [201, 201, 201, 201, 429]);
    // Its /64 is the client, through an IPv6 proxy too; another /64 and the proxy itself are not.
    assert_eq!(tokenize_from(&app, "[2001:db8:ffff::7]:40000", &[("forwarded", r#"for="[2001:db8::2]""#)]).await, 429);
    assert_eq!(tokenize_from(&app, "10.0.0.2:40001", &[("forwarded", r#"for="[2001:db8:0:1::1]:4711""#)]).await, 201);
    assert_eq!(tokenize_from(&app, "10.0.0.2:40002", &[]).await, 201);
}

#[tokio::test]
async fn console_sign_ins_behind_a_trusted_proxy_are_limited_per_forwarded_client() {
    let mut app = TestApp::with_limits(Limits { sign_ins_per_address_per_minute: 1, ..Limits::default() }).await;
    app.trust_proxies(&["10.0.0.0/8"]);
    let sign_in = |client: &'static str| {
        let body = json!({ "email": "nobody@shop.test", "password": "Summer2026!!" });
        let app = &app;
        async move {
            app.send_from_with("10.0.0.2:40000", "POST", "/api/v1/console/session", None, &[("x-forwarded-for", client)], Some(body))
                .await
                .status
                .as_u16()
        }
    };
    assert_eq!([sign_in("198.51.100.1").await, sign_in("198.51.100.1").await, sign_in("198.51.100.1").await], [401, 401, 429]);
    assert_eq!(sign_in("198.51.100.2").await, 401, "another client behind the proxy");
}

#[tokio::test]
async fn the_3_d_secure_pages_are_limited_per_client_address() {
    let app = TestApp::with_limits(Limits {
        three_ds_per_address_per_minute: 2,
        card_attempts_per_address_per_second: 0,
        publishable_per_second: 0,
        ..Limits::default()
    })
    .await;
    let from = |address: &'static str, method: &'static str, path: &'static str| {
        let app = &app;
        async move { app.send_from_with(address, method, path, None, &[], None).await }
    };
    // Two a minute, bursting to four; each may have asked the processor something.
    let return_path = "/3ds/pi_nosuchpayment/return?kassa_return=forged";
    for _ in 0..4 {
        assert_ne!(from("203.0.113.7:5000", "GET", return_path).await.status, 429);
    }
    from("203.0.113.7:5000", "GET", return_path).await.error(429, "RATE_LIMITED");
    from("203.0.113.7:6000", "GET", "/3ds/pi_nosuchpayment/challenge?session=guess").await.error(429, "RATE_LIMITED");
    from("203.0.113.7:6000", "POST", "/3ds/pi_nosuchpayment/challenge").await.error(429, "RATE_LIMITED");
    // Another address is not held up by it, and the page's own assets are not counted.
    assert_ne!(from("198.51.100.9:5000", "GET", return_path).await.status, 429);
    assert_eq!(from("203.0.113.7:5000", "GET", "/3ds/assets/challenge.css").await.status, 200);
}
