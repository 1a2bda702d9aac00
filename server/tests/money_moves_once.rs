//! Money moves once: racing requests under *different* idempotency keys, counted at the processor
//! (a recording processor in front of a sandbox that takes time to answer), not only in the books.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{card, TestApp, TestResponse};
use futures_util::future::join_all;
use serde_json::{json, Value};

const LATENCY: Duration = Duration::from_millis(40);

/// Sends `n` requests at once, each under its own idempotency key.
async fn race(app: &Arc<TestApp>, n: usize, path: &str, key: &str, body: impl Fn(usize) -> Value) -> Vec<TestResponse> {
    let sends = (0..n).map(|i| {
        let (app, path, key, body) = (app.clone(), path.to_owned(), key.to_owned(), body(i));
        tokio::spawn(async move { app.post_with_key(&path, &key, &format!("race-{i}-{}", rand::random::<u32>()), body).await })
    });
    join_all(sends).await.into_iter().map(|r| r.unwrap()).collect()
}

fn statuses(responses: &[TestResponse]) -> Vec<u16> {
    let mut s: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    s.sort();
    s
}

/// Sends a request with the secret key from a task of its own, so the test can abort it as a
/// crash would.
fn in_background(app: &TestApp, path: &str, idempotency_key: Option<&str>, body: Value) -> tokio::task::JoinHandle<()> {
    let mut request = axum::http::Request::post(path.to_owned()).header("authorization", format!("Bearer {}", app.sk())).header("content-type", "application/json");
    if let Some(key) = idempotency_key {
        request = request.header("idempotency-key", key);
    }
    let request = request.body(axum::body::Body::from(body.to_string())).unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        let _ = tower::ServiceExt::oneshot(router, request).await;
    })
}

/// No request failed with a 500, whatever the race.
#[track_caller]
fn none_internal(responses: &[TestResponse]) {
    for r in responses {
        assert_ne!(r.status.as_u16(), 500, "{}", r.json);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_confirms_of_one_intent_authorize_once() {
    let app = Arc::new(TestApp::with_latency(LATENCY).await);
    let created = app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 5000, "currency": "EUR" })).await;
    let (id, secret) = (created.data(201)["id"].as_str().unwrap().to_owned(), created.data(201)["clientSecret"].as_str().unwrap().to_owned());
    let pk = app.pk().to_owned();
    let responses = race(&app, 2, &format!("/api/v1/payments/intents/{id}/confirm"), &pk, |_| {
        json!({ "clientSecret": secret, "card": card("4242424242424242") })
    })
    .await;
    none_internal(&responses);
    assert_eq!(statuses(&responses), [200, 409], "one confirm wins; the other is told the payment is busy or paid");
    assert_eq!(app.processor.effects_of("sale").len(), 1);
    let intent = app.intent(&id).await;
    assert_eq!(intent["intent"]["status"], "captured");
    assert_eq!(intent["intent"]["capturedAmountCents"], app.processor.effects_of("sale")[0].amount_cents);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_captures_of_one_authorization_capture_once() {
    let app = Arc::new(TestApp::with_latency(LATENCY).await);
    let id = app.authorized(10_000).await;
    let sk = app.sk().to_owned();
    let responses = race(&app, 50, "/api/v1/payments/capture", &sk, |_| json!({ "paymentIntentId": id })).await;
    none_internal(&responses);
    let won = responses.iter().filter(|r| r.status == 200).count();
    assert_eq!(won, 1, "{:?}", statuses(&responses));
    for lost in responses.iter().filter(|r| r.status != 200) {
        lost.error(409, "INVALID_STATE");
    }
    assert_eq!(app.processor.effects_of("capture").len(), 1);
    let intent = app.intent(&id).await;
    assert_eq!(intent["intent"]["capturedAmountCents"], 10_000);
    let captures: Vec<_> = intent["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == "capture").collect();
    assert_eq!(captures.len(), 1, "the books hold one capture, as the processor does");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_refunds_of_thirty_percent_refund_at_most_what_was_captured() {
    let app = Arc::new(TestApp::with_latency(LATENCY).await);
    let id = app.captured(10_000).await;
    let sk = app.sk().to_owned();
    let responses = race(&app, 10, "/api/v1/payments/refund", &sk, |_| json!({ "paymentIntentId": id, "amountCents": 3_000 })).await;
    none_internal(&responses);
    let won = responses.iter().filter(|r| r.status == 200).count();
    assert_eq!(won, 3, "three refunds of 30 % fit in what was captured: {:?}", statuses(&responses));
    let refunds = app.processor.effects_of("refund");
    assert_eq!(refunds.len(), 3);
    let intent = app.intent(&id).await;
    assert_eq!(intent["intent"]["refundedAmountCents"], refunds.iter().map(|r| r.amount_cents).sum::<i64>());
    assert_eq!(intent["intent"]["status"], "partially_refunded");
    // What is left can still be refunded, exactly.
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id, "amountCents": 1_001 })).await.error(409, "INVALID_STATE");
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id })).await.data(200);
    assert_eq!(app.intent(&id).await["intent"]["status"], "refunded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tip_racing_a_capture_leaves_books_that_match_the_processor() {
    let app = Arc::new(TestApp::with_latency(LATENCY).await);
    let id = app.authorized(2_000).await;
    let tip = {
        let (app, id) = (app.clone(), id.clone());
        tokio::spawn(async move { app.post_with_key(&format!("/api/v1/payments/{id}/tip"), app.sk(), "tip-1", json!({ "tipCents": 300 })).await })
    };
    let capture = {
        let (app, id) = (app.clone(), id.clone());
        tokio::spawn(async move { app.post_with_key("/api/v1/payments/capture", app.sk(), "capture-1", json!({ "paymentIntentId": id })).await })
    };
    let (tip, capture) = (tip.await.unwrap(), capture.await.unwrap());
    none_internal(&[tip.clone(), capture.clone()]);
    let intent = app.intent(&id).await["intent"].clone();
    let tips = app.processor.effects_of("tip");
    let captures = app.processor.effects_of("capture");
    assert_eq!(tips.len(), usize::from(tip.status == 200));
    assert_eq!(captures.len(), usize::from(capture.status == 200));
    assert!(tip.status == 200 || capture.status == 200, "one of them wins");
    if let Some(captured) = captures.first() {
        assert_eq!(intent["capturedAmountCents"], captured.amount_cents);
    }
    assert_eq!(intent["tipCents"], tips.first().map_or(0, |t| t.amount_cents));
    // Captured or not, the books hold together: nothing, or the amount and the tip.
    let captured = intent["capturedAmountCents"].as_i64().unwrap();
    assert!(captured == 0 || captured == intent["amountCents"].as_i64().unwrap() + intent["tipCents"].as_i64().unwrap(), "{intent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_verify_posts_on_one_challenge_authorize_once() {
    let app = Arc::new(TestApp::with_latency(LATENCY).await);
    let sale = app.sale("4000002760003184", 4_200).await;
    let url = sale.data(201)["nextAction"]["url"].as_str().unwrap().to_owned();
    let id = sale.data(201)["id"].as_str().unwrap().to_owned();
    let path = url.split_once("://").map(|(_, rest)| rest[rest.find('/').unwrap()..].to_owned()).unwrap();
    let session = path.split("session=").nth(1).unwrap().to_owned();
    let posts = (0..2).map(|_| {
        let (app, path, session) = (app.clone(), path.clone(), session.clone());
        tokio::spawn(async move {
            let form = format!("session={session}&code=123456&action=verify");
            app.send("POST", path.split('?').next().unwrap(), None, &[("content-type", "application/x-www-form-urlencoded")], Some(form.into_bytes())).await
        })
    });
    let pages: Vec<_> = join_all(posts).await.into_iter().map(|r| r.unwrap()).collect();
    for page in &pages {
        assert_eq!(page.status, 200);
        assert!(String::from_utf8_lossy(&page.bytes).contains(r#"data-status="captured""#), "both windows show the outcome");
    }
    assert_eq!(app.processor.effects_of("sale").len(), 1);
    let history = app.intent(&id).await;
    assert_eq!(history["intent"]["status"], "captured");
    assert_eq!(history["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == "authorize").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_sales_under_one_idempotency_key_charge_once_and_never_fail_with_500() {
    let app = Arc::new(TestApp::with_latency(LATENCY).await);
    let sends = (0..20).map(|_| {
        let app = app.clone();
        tokio::spawn(async move {
            app.post_with_key("/api/v1/payments/sale", app.sk(), "same-key", json!({ "amountCents": 700, "currency": "USD", "card": card("4242424242424242") })).await
        })
    });
    let responses: Vec<_> = join_all(sends).await.into_iter().map(|r| r.unwrap()).collect();
    none_internal(&responses);
    for r in responses.iter().filter(|r| r.status != 201) {
        assert_eq!(r.error(409, "DUPLICATE_REQUEST")["details"]["retryable"], true);
    }
    assert_eq!(app.processor.effects_of("sale").len(), 1);
    assert_eq!(app.all_intent_ids().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_claim_and_outcome_is_settled_by_the_reconciler_after_restart() {
    let mut app = TestApp::new().await;
    let id = app.authorized(8_000).await;
    // The processor captures, and its answer never comes back: the server "dies" waiting.
    app.processor.go_silent_after_next_effect();
    let request = in_background(&app, "/api/v1/payments/capture", Some("capture-before-crash"), json!({ "paymentIntentId": id }));
    for _ in 0..100 {
        if !app.processor.effects_of("capture").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(app.processor.effects_of("capture").len(), 1, "the capture reached the processor");
    request.abort();
    // Claimed and unanswered: the payment is held.
    assert_eq!(app.intent(&id).await["intent"]["status"], "authorized");
    app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": id })).await.error(409, "INVALID_STATE");

    app.restart().await;
    // Before the reconciler runs, a retry of the crashed request waits rather than running again.
    let retry = app.post_with_key("/api/v1/payments/capture", app.sk(), "capture-before-crash", json!({ "paymentIntentId": id })).await;
    assert_eq!(retry.error(409, "DUPLICATE_REQUEST")["details"]["retryable"], true);
    assert_eq!(kassa_server::payments::reconcile(&app.state, Duration::ZERO).await.unwrap(), 1);
    let history = app.intent(&id).await;
    assert_eq!(history["intent"]["status"], "captured");
    assert_eq!(history["intent"]["capturedAmountCents"], 8_000);
    assert_eq!(app.processor.effects_of("capture").len(), 1, "the processor saw one capture");
    // And the retry now replays what the reconciler recorded.
    let replay = app.post_with_key("/api/v1/payments/capture", app.sk(), "capture-before-crash", json!({ "paymentIntentId": id })).await;
    assert_eq!(replay.data(200)["status"], "captured");
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(app.processor.effects_of("capture").len(), 1);
    // Nothing is left for the reconciler.
    assert_eq!(kassa_server::payments::reconcile(&app.state, Duration::ZERO).await.unwrap(), 0);
}

#[tokio::test]
async fn a_claim_whose_call_never_reached_the_processor_is_settled_as_not_made() {
    let app = TestApp::new().await;
    let id = app.authorized(1_000).await;
    app.processor.go_silent_before_next_effect();
    let void = in_background(&app, "/api/v1/payments/void", None, json!({ "paymentIntentId": id }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    void.abort();
    assert!(app.processor.effects_of("void").is_empty());
    assert_eq!(kassa_server::payments::reconcile(&app.state, Duration::ZERO).await.unwrap(), 1);
    // Nothing happened: the hold is released, the failed call is on record, and it can be voided.
    let history = app.intent(&id).await;
    assert_eq!(history["intent"]["status"], "authorized");
    let last = history["transactions"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["type"].as_str(), last["status"].as_str(), last["responseCode"].as_str()), (Some("void"), Some("error"), Some("not_processed")));
    app.post("/api/v1/payments/void", app.sk(), json!({ "paymentIntentId": id })).await.data(200);
    assert_eq!(app.processor.effects_of("void").len(), 1);
}
