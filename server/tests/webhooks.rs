//! Webhooks: signed, retried, never lost — against a receiver on 127.0.0.1.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::process::{create_merchant, request, ServerProcess};
use common::{card, TestApp, TestDb};
use kassa_server::webhooks::{spawn_worker, Settings};
use serde_json::{json, Value};

/// What a receiver got: the signature header and the raw body.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, Bytes)>>>);

impl Received {
    fn all(&self) -> Vec<(String, Value, Bytes)> {
        self.0.lock().unwrap().iter().map(|(sig, body)| (sig.clone(), serde_json::from_slice(body).unwrap(), body.clone())).collect()
    }
}

/// A webhook receiver on a free loopback port that answers 500 to its first `failures` requests.
async fn receiver(failures: u32) -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let received = Received::default();
    let seen = Arc::new(AtomicU32::new(0));
    let (log, count) = (received.clone(), seen.clone());
    let app = axum::Router::new().route(
        "/hooks",
        post(move |headers: HeaderMap, body: Bytes| {
            let (log, count) = (log.clone(), count.clone());
            async move {
                let signature = headers.get("kassa-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                log.0.lock().unwrap().push((signature, body));
                if count.fetch_add(1, Ordering::SeqCst) < failures {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

fn fast() -> Settings {
    Settings {
        timeout: Duration::from_secs(2),
        first_backoff: Duration::from_millis(100),
        max_attempts: 8,
        poll: Duration::from_millis(50),
        allow_loopback: true,
        tls_roots: None,
    }
}

async fn endpoint(app: &TestApp, url: &str, events: Value) -> (String, String) {
    let created = app.post("/api/v1/webhook-endpoints", app.sk(), json!({ "url": url, "events": events })).await;
    let data = created.data(201);
    let secret = data["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    (data["id"].as_str().unwrap().to_owned(), secret)
}

async fn wait_for(mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out");
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_retried_until_accepted_and_arrives_signed() {
    let app = TestApp::new().await;
    spawn_worker(app.state.clone(), fast());
    let (url, received) = receiver(2).await;
    let (endpoint_id, secret) = endpoint(&app, &url, json!(["payment_intent.succeeded"])).await;
    let sale = app.sale("4242424242424242", 1234).await;
    let intent = sale.data(201)["id"].clone();
    wait_for(|| received.all().len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let got = received.all();
    assert_eq!(got.len(), 3, "two failures, then accepted once and never again");
    let ids: Vec<_> = got.iter().map(|(_, body, _)| body["id"].clone()).collect();
    assert!(ids.iter().all(|id| id == &ids[0]), "the same event each time");
    for (signature, body, raw) in &got {
        assert_eq!(kassa::webhook::verify(raw, signature, &secret, now(), 300), Ok(()));
        assert_eq!(kassa::webhook::verify(raw, signature, "whsec_wrong", now(), 300), Err(kassa::webhook::WebhookError::SignatureMismatch));
        assert_eq!(body["type"], "payment_intent.succeeded");
        assert_eq!(body["data"]["object"]["id"], intent);
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
    }
    let attempts = app.get(&format!("/api/v1/webhook-endpoints/{endpoint_id}/deliveries"), app.sk()).await;
    let attempts = attempts.data(200).as_array().unwrap().clone();
    let codes: Vec<_> = attempts.iter().map(|a| a["statusCode"].as_u64().unwrap()).collect();
    assert_eq!(codes, [204, 500, 500], "newest first");
    assert_eq!(attempts[0]["deliveryStatus"], "delivered");
    assert_eq!(attempts[1]["deliveryStatus"], "retrying");
    // The event is listed.
    let events = app.get("/api/v1/events?type=payment_intent.succeeded", app.sk()).await;
    assert_eq!(events.data(200)[0]["id"], ids[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_type_arrives() {
    let app = TestApp::new().await;
    spawn_worker(app.state.clone(), fast());
    let (url, received) = receiver(0).await;
    endpoint(&app, &url, json!(["*"])).await;
    let captured = app.captured(1000).await;
    app.sale("4000000000000002", 1000).await;
    app.sale("4000002760003184", 1000).await;
    let authorized = app.authorized(500).await;
    app.post("/api/v1/payments/void", app.sk(), json!({ "paymentIntentId": authorized })).await.data(200);
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": captured, "amountCents": 100 })).await.data(200);
    let order = app
        .post(
            "/api/v1/orders",
            app.sk(),
            json!({ "currency": "USD", "lineItems": [{ "name": "Tea", "unitAmountCents": 300, "quantity": 1 }] }),
        )
        .await;
    let order_id = order.data(201)["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/orders/{order_id}/payments"),
        app.sk(),
        json!({ "type": "receipt", "methodId": "cash", "amountCents": 300 }),
    )
    .await
    .data(201);
    let wanted = [
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "payment_intent.canceled",
        "charge.refunded",
        "order.paid",
    ];
    wait_for(|| {
        let types: Vec<String> = received.all().iter().map(|(_, b, _)| b["type"].as_str().unwrap().to_owned()).collect();
        wanted.iter().all(|w| types.iter().any(|t| t == w))
    })
    .await;
    let paid = received.all().into_iter().find(|(_, b, _)| b["type"] == "order.paid").unwrap().1;
    assert_eq!(paid["data"]["object"]["id"], order_id.as_str());
    assert_eq!(paid["data"]["object"]["status"], "paid");
}

#[tokio::test]
async fn endpoints_are_checked_and_belong_to_one_merchant() {
    let app = TestApp::new().await;
    for (url, events) in [
        ("http://10.1.2.3/hooks", json!(["*"])),
        ("http://169.254.169.254/", json!(["*"])),
        ("ftp://example.com/", json!(["*"])),
        ("http://127.0.0.1:9/hooks", json!(["payment.exploded"])),
        ("http://127.0.0.1:9/hooks", json!([])),
    ] {
        app.post("/api/v1/webhook-endpoints", app.sk(), json!({ "url": url, "events": events })).await.error(400, "VALIDATION_ERROR");
    }
    app.post("/api/v1/webhook-endpoints", app.pk(), json!({ "url": "http://127.0.0.1:9/hooks", "events": ["*"] }))
        .await
        .error(403, "FORBIDDEN");
    let (id, _) = endpoint(&app, "http://127.0.0.1:9/hooks", json!(["order.paid"])).await;
    let listed = app.get("/api/v1/webhook-endpoints", app.sk()).await;
    assert_eq!(listed.data(200)[0]["id"], id.as_str());
    assert!(listed.data(200)[0].get("secret").is_none(), "the secret is shown only once");
    let other = app.other_merchant().await;
    app.get(&format!("/api/v1/webhook-endpoints/{id}/deliveries"), &other.secret_key).await.error(404, "NOT_FOUND");
    app.delete(&format!("/api/v1/webhook-endpoints/{id}"), &other.secret_key).await.error(404, "NOT_FOUND");
    assert!(app.get("/api/v1/events", &other.secret_key).await.data(200).as_array().unwrap().is_empty());
    app.delete(&format!("/api/v1/webhook-endpoints/{id}"), app.sk()).await.data(200);
    assert!(app.get("/api/v1/webhook-endpoints", app.sk()).await.data(200).as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_written_before_a_restart_is_delivered_after_it() {
    let db = TestDb::new().await;
    let merchant = create_merchant(&db, "Restart");
    let sk = merchant["secretKey"].as_str().unwrap();

    // The receiver's address, not listening yet: every delivery fails for now.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let serve =
        |db| ServerProcess::start(db, &["--webhook-backoff-ms", "200", "--webhook-timeout-ms", "1000", "--webhooks-allow-loopback"]);
    let mut first = serve(&db);
    let (_, created) = request(
        &first.addr,
        "POST",
        "/api/v1/webhook-endpoints",
        sk,
        Some(&json!({ "url": format!("http://127.0.0.1:{port}/hooks"), "events": ["payment_intent.succeeded"] })),
    )
    .await;
    let secret = created["data"]["secret"].as_str().unwrap().to_owned();
    let (_, sale) = request(
        &first.addr,
        "POST",
        "/api/v1/payments/sale",
        sk,
        Some(&json!({ "amountCents": 777, "currency": "USD", "card": card("4242424242424242") })),
    )
    .await;
    let intent = sale["data"]["id"].clone();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The server dies without warning.
    first.kill();

    // The receiver comes up, then the server comes back on the same database.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let received = Received::default();
    let log = received.clone();
    let app = axum::Router::new().route(
        "/hooks",
        post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let signature = headers.get("kassa-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                log.0.lock().unwrap().push((signature, body));
                StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut second = serve(&db);
    wait_for(|| !received.all().is_empty()).await;
    let (signature, body, raw) = received.all().remove(0);
    assert_eq!(body["data"]["object"]["id"], intent);
    assert_eq!(kassa::webhook::verify(&raw, &signature, &secret, now(), 300), Ok(()));
    second.kill();
}

#[tokio::test]
async fn an_endless_reply_body_is_not_read_to_its_end() {
    let app = TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    // 200, then a body that never ends.
    let endless = axum::Router::new().route(
        "/hooks",
        post(|| async {
            let chunks = futures_util::stream::repeat_with(|| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 64 * 1024])));
            (StatusCode::OK, axum::body::Body::from_stream(chunks))
        }),
    );
    tokio::spawn(async move { axum::serve(listener, endless).await.unwrap() });
    let (id, _) = endpoint(&app, &url, json!(["*"])).await;
    spawn_worker(app.state.clone(), Settings { timeout: Duration::from_secs(30), ..fast() });
    app.sale("4242424242424242", 500).await.data(201);
    let started = std::time::Instant::now();
    loop {
        let attempts = app.get(&format!("/api/v1/webhook-endpoints/{id}/deliveries"), app.sk()).await;
        if let Some(first) = attempts.data(200).as_array().unwrap().first() {
            assert_eq!(first["statusCode"], 200, "{first}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the delivery is still reading the reply");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn loopback_endpoints_are_refused_outside_test_mode() {
    let mut app = TestApp::new().await;
    app.restart().await;
    let mut state = app.state.clone();
    state.allow_loopback_webhooks = false;
    let router = kassa_server::app(state);
    for url in ["http://127.0.0.1:9000/hooks", "http://localhost:9000/hooks", "http://100.64.0.7/hooks", "http://[64:ff9b::a00:1]/hooks"] {
        let request = axum::http::Request::post("/api/v1/webhook-endpoints")
            .header("authorization", format!("Bearer {}", app.sk()))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(json!({ "url": url, "events": ["*"] }).to_string()))
            .unwrap();
        let response = tower::ServiceExt::oneshot(router.clone(), request).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{url}");
    }
}

#[tokio::test]
async fn an_attempt_is_recorded_only_under_the_lease_it_was_sent_under() {
    let app = TestApp::new().await;
    let (url, _) = receiver(0).await;
    endpoint(&app, &url, json!(["*"])).await;
    app.sale("4242424242424242", 500).await.data(201);
    let now = kassa_server::clock::now_ms();
    let slow = kassa_server::store::events::claim_due(&app.store, now, now + 1_000, 16).await.unwrap();
    assert_eq!(slow.len(), 1);
    // The first worker's lease runs out; another worker takes the delivery and records it.
    let later = now + 2_000;
    let fast = kassa_server::store::events::claim_due(&app.store, later, later + 1_000, 16).await.unwrap();
    assert_eq!(fast.len(), 1);
    let result = || kassa_server::store::events::AttemptResult { status_code: Some(204), error: None, duration_ms: 5 };
    assert!(kassa_server::store::events::record_attempt(&app.store, &fast[0], result(), later, None).await.unwrap());
    // The first worker finishes late: its attempt is not recorded over the second one's.
    assert!(!kassa_server::store::events::record_attempt(&app.store, &slow[0], result(), later + 10, None).await.unwrap());
}

/// A receiver that speaks only https, with a certificate for `localhost` made for this test.
async fn tls_receiver() -> (String, Received, rustls::RootCertStore) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::try_from(certified.key_pair.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://localhost:{}/hooks", listener.local_addr().unwrap().port());
    let received = Received::default();
    let log = received.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, log) = (acceptor.clone(), log.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        use http_body_util::BodyExt;
                        let signature =
                            request.headers().get("kassa-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                        let body = request.into_body().collect().await?.to_bytes();
                        log.0.lock().unwrap().push((signature, body));
                        Ok::<_, hyper::Error>(hyper::Response::builder().status(204).body(http_body_util::Empty::<Bytes>::new()).unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(tls), service).await;
            });
        }
    });
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    (url, received, roots)
}

#[tokio::test]
async fn https_endpoints_are_delivered_to_and_their_certificate_is_checked() {
    let app = TestApp::new().await;
    let (url, received, roots) = tls_receiver().await;
    let (id, secret) = endpoint(&app, &url, json!(["payment_intent.succeeded"])).await;
    spawn_worker(app.state.clone(), Settings { tls_roots: Some(Arc::new(roots)), ..fast() });
    app.sale("4242424242424242", 1234).await.data(201);
    for _ in 0..300 {
        if !received.all().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = received.all();
    assert_eq!(got.len(), 1, "one event over TLS");
    let (signature, event, raw) = &got[0];
    assert_eq!(event["type"], "payment_intent.succeeded");
    kassa::webhook::verify(raw, signature, &secret, now(), 300).unwrap();
    // The delivery is recorded once the receiver's answer is back, a moment after it got the event.
    let mut status = Value::Null;
    for _ in 0..100 {
        let attempts = app.get(&format!("/api/v1/webhook-endpoints/{id}/deliveries"), app.sk()).await;
        status = attempts.data(200)[0]["statusCode"].clone();
        if !status.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 204);
}

#[tokio::test]
async fn an_https_endpoint_with_a_certificate_nobody_vouches_for_is_not_sent_the_event() {
    let app = TestApp::new().await;
    let (url, received, _roots) = tls_receiver().await;
    let (id, _) = endpoint(&app, &url, json!(["*"])).await;
    // The web's roots: the self-made certificate is not among them.
    spawn_worker(app.state.clone(), fast());
    app.sale("4242424242424242", 1234).await.data(201);
    let started = std::time::Instant::now();
    let error = loop {
        let attempts = app.get(&format!("/api/v1/webhook-endpoints/{id}/deliveries"), app.sk()).await;
        if let Some(first) = attempts.data(200).as_array().unwrap().first() {
            break first["error"].as_str().unwrap_or_default().to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no attempt recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    assert!(received.all().is_empty());
}

/// A delivery that failed for good is sent again on request, once, and its new attempt is
/// listed; one still being tried is left alone.
#[tokio::test]
async fn a_failed_delivery_is_sent_again_on_request() {
    let app = TestApp::new().await;
    spawn_worker(app.state.clone(), Settings { max_attempts: 2, ..fast() });
    let (url, received) = receiver(2).await;
    let (endpoint_id, _) = endpoint(&app, &url, json!(["payment_intent.succeeded"])).await;
    app.sale("4242424242424242", 700).await.data(201);
    let attempts_path = format!("/api/v1/webhook-endpoints/{endpoint_id}/deliveries");
    // The attempts listed once the newest is `status`: the receiver has an attempt's request
    // before the worker has written down its answer.
    let attempts_when = |status: &'static str| {
        let (app, path) = (&app, attempts_path.clone());
        async move {
            let mut attempts = Vec::new();
            for _ in 0..100 {
                attempts = app.get(&path, app.sk()).await.data(200).as_array().unwrap().clone();
                if attempts.first().is_some_and(|a| a["deliveryStatus"] == status) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            attempts
        }
    };
    let attempts = attempts_when("failed").await;
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0]["deliveryStatus"], "failed");
    let delivery = attempts[0]["deliveryId"].as_str().unwrap().to_owned();

    let retry = |key: String, delivery: String| {
        let app = &app;
        let path = format!("/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery}/retry");
        async move { app.post(&path, &key, json!({})).await }
    };
    let restricted = app.restricted_key(&["payments.transactions.view"]).await;
    retry(restricted.clone(), delivery.clone()).await.error(403, "FORBIDDEN");
    retry(app.sk().to_owned(), "whd_unknown".to_owned()).await.error(404, "NOT_FOUND");
    assert_eq!(retry(app.sk().to_owned(), delivery.clone()).await.data(200)["status"], "pending");
    wait_for(|| received.all().len() >= 3).await;
    let attempts = attempts_when("delivered").await;
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert_eq!(attempts[0]["statusCode"], 204);
    assert_eq!(attempts[0]["deliveryStatus"], "delivered");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(received.all().len(), 3, "sent again once");
    // Sending a delivered one again is allowed (the receiver may have lost it); the same event.
    assert_eq!(retry(app.sk().to_owned(), delivery.clone()).await.data(200)["status"], "pending");
    wait_for(|| received.all().len() >= 4).await;
    let bodies: Vec<_> = received.all().iter().map(|(_, body, _)| body["id"].clone()).collect();
    assert!(bodies.iter().all(|id| id == &bodies[0]));
}

/// A delivery still waiting for its next attempt is not sent again on request: its retries are
/// the worker's, and a second sender would break their order.
#[tokio::test]
async fn a_delivery_still_being_tried_is_not_sent_again() {
    let app = TestApp::new().await;
    spawn_worker(app.state.clone(), Settings { max_attempts: 3, first_backoff: Duration::from_secs(60), ..fast() });
    let (url, received) = receiver(1).await;
    let (endpoint_id, _) = endpoint(&app, &url, json!(["payment_intent.succeeded"])).await;
    app.sale("4242424242424242", 700).await.data(201);
    let attempts_path = format!("/api/v1/webhook-endpoints/{endpoint_id}/deliveries");
    let mut attempts = Vec::new();
    for _ in 0..100 {
        attempts = app.get(&attempts_path, app.sk()).await.data(200).as_array().unwrap().clone();
        if !attempts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["deliveryStatus"], "pending", "the next attempt is a minute away");
    let delivery = attempts[0]["deliveryId"].as_str().unwrap();

    let path = format!("/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery}/retry");
    app.post(&path, app.sk(), json!({})).await.error(409, "INVALID_STATE");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(received.all().len(), 1, "nothing sent again");
    assert_eq!(app.get(&attempts_path, app.sk()).await.data(200).as_array().unwrap().len(), 1);
}

/// A receiver on `port` that writes down which endpoint (the path) got which event, in the order
/// they arrive, and accepts each.
async fn listen_on(port: u16, seen: Arc<Mutex<Vec<(String, String)>>>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the receiver's port is still free");
    let app = axum::Router::new().route(
        "/{endpoint}",
        post(move |axum::extract::Path(endpoint): axum::extract::Path<String>, body: Bytes| {
            let seen = seen.clone();
            async move {
                let event: Value = serde_json::from_slice(&body).unwrap();
                seen.lock().unwrap().push((endpoint, event["id"].as_str().unwrap().to_owned()));
                StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_long_gets_every_event_once_and_in_order_when_it_is_back() {
    let db = TestDb::new().await;
    let merchant = create_merchant(&db, "Receiver Down");
    let sk = merchant["secretKey"].as_str().unwrap();
    // Short backoff, so that a few seconds down is a long time: a dozen failed attempts and more
    // for the oldest event, whose retries wait ever longer. Enough attempts that none is given up.
    let server = ServerProcess::start(
        &db,
        &["--webhooks-allow-loopback", "--webhook-backoff-ms", "20", "--webhook-timeout-ms", "1000", "--webhook-max-attempts", "40"],
    );
    // The receiver's port, on which nothing listens yet: every attempt is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut endpoints = Vec::new();
    for (name, events) in [("all", json!(["*"])), ("paid", json!(["payment_intent.succeeded"]))] {
        let (status, made) = request(
            &server.addr,
            "POST",
            "/api/v1/webhook-endpoints",
            sk,
            Some(&json!({ "url": format!("http://127.0.0.1:{port}/{name}"), "events": events })),
        )
        .await;
        assert_eq!(status, 201, "{made}");
        endpoints.push((name, made["data"]["id"].as_str().unwrap().to_owned()));
    }
    let addr = server.addr.clone();
    let make_events = |count: usize| {
        let addr = addr.clone();
        async move {
            for i in 0..count {
                let (status, sale) = request(
                    &addr,
                    "POST",
                    "/api/v1/payments/sale",
                    sk,
                    Some(&json!({ "amountCents": 1000 + i as i64, "currency": "USD", "card": card("4242424242424242") })),
                )
                .await;
                assert_eq!(status, 201, "{sale}");
                if i % 3 == 0 {
                    let refund = json!({ "paymentIntentId": sale["data"]["id"], "amountCents": 100 });
                    assert_eq!(request(&addr, "POST", "/api/v1/payments/refund", sk, Some(&refund)).await.0, 200);
                }
            }
        }
    };

    // Events keep being made while the receiver is down, for four seconds: a few payments every
    // half second, and never so many that the events outgrow one page of the list below, however
    // fast the machine.
    let down = std::time::Instant::now();
    let mut made = 0;
    while down.elapsed() < Duration::from_secs(4) {
        if made < 21 {
            make_events(3).await;
            made += 3;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (_, tried) =
        request(&server.addr, "GET", &format!("/api/v1/webhook-endpoints/{}/deliveries?limit=100", endpoints[0].1), sk, None).await;
    let refused = tried["data"].as_array().unwrap().iter().filter(|a| a["statusCode"].is_null()).count();
    assert!(refused >= 5, "the receiver was tried while it was down: {tried}");

    let (_, so_far) = request(&server.addr, "GET", "/api/v1/events?limit=100", sk, None).await;
    let made_while_down = so_far["data"].as_array().unwrap().len();

    // It comes back; more events are made while it catches up.
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    listen_on(port, seen.clone()).await;
    let back = std::time::Instant::now();
    make_events(6).await;
    made += 6;

    // Every event the endpoint wants, in the order they were made (the list is newest first).
    let (_, listed) = request(&server.addr, "GET", "/api/v1/events?limit=100", sk, None).await;
    assert_eq!(listed["meta"]["hasMore"], false, "fewer than 100 events");
    let created: Vec<(String, String)> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| (e["id"].as_str().unwrap().to_owned(), e["type"].as_str().unwrap().to_owned()))
        .collect();
    let wanted = |endpoint: &str| -> Vec<String> {
        created.iter().filter(|(_, kind)| endpoint == "all" || kind == "payment_intent.succeeded").map(|(id, _)| id.clone()).collect()
    };
    let expected = wanted("all").len() + wanted("paid").len();
    while seen.lock().unwrap().len() < expected {
        assert!(back.elapsed() < Duration::from_secs(60), "{} of {expected} deliveries arrived", seen.lock().unwrap().len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drained = back.elapsed();
    // The worker keeps running a while: nothing arrives twice.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let seen = seen.lock().unwrap().clone();
    let mut doubled = 0;
    let mut out_of_order = 0;
    for (endpoint, _) in &endpoints {
        let got: Vec<String> = seen.iter().filter(|(e, _)| e == endpoint).map(|(_, id)| id.clone()).collect();
        let distinct: std::collections::HashSet<&String> = got.iter().collect();
        doubled += got.len() - distinct.len();
        let want = wanted(endpoint);
        out_of_order += got.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(got, want, "{endpoint} got every event it wants, once, in the order they were made");
    }
    eprintln!(
        "webhook receiver down: {made} sales and {} events made ({} while it was down for {:.1}s, {refused} refused attempts listed), {} deliveries expected, {} arrived within {:.1}s of its return, lost: {}, doubled: {doubled}, out of order: {out_of_order}",
        created.len(),
        made_while_down,
        back.duration_since(down).as_secs_f64(),
        expected,
        seen.len(),
        drained.as_secs_f64(),
        expected.saturating_sub(seen.len() - doubled),
    );
}
