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
    in_background_as(app, app.sk(), &[], path, idempotency_key, body)
}

/// [`in_background`] with `key` and `headers`.
fn in_background_as(
    app: &TestApp,
    key: &str,
    headers: &[(&str, &str)],
    path: &str,
    idempotency_key: Option<&str>,
    body: Value,
) -> tokio::task::JoinHandle<()> {
    let mut request = axum::http::Request::post(path.to_owned())
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
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
    let (id, secret) =
        (created.data(201)["id"].as_str().unwrap().to_owned(), created.data(201)["clientSecret"].as_str().unwrap().to_owned());
    let pk = app.pk().to_owned();
    let responses = race(
        &app,
        2,
        &format!("/api/v1/payments/intents/{id}/confirm"),
        &pk,
        |_| json!({ "clientSecret": secret, "card": card("4242424242424242") }),
    )
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
        tokio::spawn(async move {
            app.post_with_key(&format!("/api/v1/payments/{id}/tip"), app.sk(), "tip-1", json!({ "tipCents": 300 })).await
        })
    };
    let capture = {
        let (app, id) = (app.clone(), id.clone());
        tokio::spawn(
            async move { app.post_with_key("/api/v1/payments/capture", app.sk(), "capture-1", json!({ "paymentIntentId": id })).await },
        )
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
            app.send(
                "POST",
                path.split('?').next().unwrap(),
                None,
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(form.into_bytes()),
            )
            .await
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
            app.post_with_key(
                "/api/v1/payments/sale",
                app.sk(),
                "same-key",
                json!({ "amountCents": 700, "currency": "USD", "card": card("4242424242424242") }),
            )
            .await
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
    assert_eq!(
        (last["type"].as_str(), last["status"].as_str(), last["responseCode"].as_str()),
        (Some("void"), Some("error"), Some("not_processed"))
    );
    app.post("/api/v1/payments/void", app.sk(), json!({ "paymentIntentId": id })).await.data(200);
    assert_eq!(app.processor.effects_of("void").len(), 1);
}

/// Sends `path` in the background under `key`, as a server does that crashes after its claim and
/// before its call reaches the processor; then a new process starts on the same database and its
/// reconciler finds that the processor never received the call.
async fn kept_from_the_processor_by_a_crash(app: &mut TestApp, path: &str, key: &str, body: Value) {
    let secret = app.sk().to_owned();
    kept_from_the_processor_by_a_crash_as(app, &secret, &[], path, key, body).await;
}

/// [`kept_from_the_processor_by_a_crash`] with the API key `api_key` and `headers`.
async fn kept_from_the_processor_by_a_crash_as(
    app: &mut TestApp,
    api_key: &str,
    headers: &[(&str, &str)],
    path: &str,
    key: &str,
    body: Value,
) {
    app.processor.go_silent_before_next_effect();
    let request = in_background_as(app, api_key, headers, path, Some(key), body);
    tokio::time::sleep(Duration::from_millis(200)).await;
    request.abort();
    app.restart().await;
    assert_eq!(kassa_server::payments::reconcile(&app.state, Duration::ZERO).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_of_a_sale_a_crash_kept_from_the_processor_pays_it_once_as_the_same_payment() {
    let mut app = TestApp::new().await;
    let sale = json!({ "amountCents": 2_500, "currency": "USD", "card": card("4242424242424242") });
    kept_from_the_processor_by_a_crash(&mut app, "/api/v1/payments/sale", "sale-before-crash", sale.clone()).await;
    assert!(app.processor.effects_of("sale").is_empty());
    let ids = app.all_intent_ids().await;
    assert_eq!(ids.len(), 1);
    assert_eq!(app.intent(&ids[0]).await["intent"]["status"], "error");

    // The retry sends the sale the processor never received, as the same payment.
    let retry = app.post_with_key("/api/v1/payments/sale", app.sk(), "sale-before-crash", sale.clone()).await;
    assert_eq!(retry.data(201)["id"], ids[0].as_str());
    assert_eq!(retry.data(201)["status"], "captured");
    assert_eq!(app.processor.effects_of("sale").len(), 1);
    // Later retries replay that, and charge nothing more.
    let replay = app.post_with_key("/api/v1/payments/sale", app.sk(), "sale-before-crash", sale.clone()).await;
    assert_eq!(replay.data(201)["id"], ids[0].as_str());
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(app.processor.effects_of("sale").len(), 1);
    assert_eq!(app.all_intent_ids().await.len(), 1);
    assert_eq!(kassa_server::payments::reconcile(&app.state, Duration::ZERO).await.unwrap(), 0);
    // The history keeps the call that never arrived, then the sale.
    let history = app.intent(&ids[0]).await;
    assert_eq!(history["intent"]["capturedAmountCents"], 2_500);
    let steps: Vec<(String, String)> = history["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["type"].as_str().unwrap().to_owned(), t["status"].as_str().unwrap().to_owned()))
        .collect();
    let step = |kind: &str, status: &str| (kind.to_owned(), status.to_owned());
    assert_eq!(steps, [step("authorize", "error"), step("authorize", "approved"), step("capture", "approved")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_runs_again_only_a_call_the_processor_never_received_on_a_payment_nobody_changed_since() {
    let mut app = TestApp::new().await;
    // A capture kept from the processor: its retry captures, once.
    let id = app.authorized(4_000).await;
    kept_from_the_processor_by_a_crash(&mut app, "/api/v1/payments/capture", "capture-unsent", json!({ "paymentIntentId": id })).await;
    assert_eq!(app.intent(&id).await["intent"]["status"], "authorized");
    let retry = app.post_with_key("/api/v1/payments/capture", app.sk(), "capture-unsent", json!({ "paymentIntentId": id })).await;
    assert_eq!(retry.data(200)["status"], "captured");
    assert_eq!(retry.data(200)["capturedAmountCents"], 4_000);
    assert_eq!(app.processor.effects_of("capture").len(), 1);

    // A sale kept from the processor that staff closed by hand before the retry came: the retry
    // replays the failure, and nothing is charged.
    let before: std::collections::HashSet<String> = app.all_intent_ids().await.into_iter().collect();
    let sale = json!({ "amountCents": 900, "currency": "USD", "card": card("4242424242424242") });
    kept_from_the_processor_by_a_crash(&mut app, "/api/v1/payments/sale", "sale-unsent", sale.clone()).await;
    let failed = app.all_intent_ids().await.into_iter().find(|i| !before.contains(i)).unwrap();
    app.post(
        &format!("/api/v1/payments/failed/{failed}/resolve"),
        app.sk(),
        json!({ "resolution": "dismissed", "reason": "Customer left" }),
    )
    .await
    .data(200);
    let retry = app.post_with_key("/api/v1/payments/sale", app.sk(), "sale-unsent", sale.clone()).await;
    retry.error(502, "PROVIDER_ERROR");
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert!(app.processor.effects_of("sale").is_empty());
    assert_eq!(app.intent(&failed).await["intent"]["status"], "resolved");

    // A different request under a key whose call never arrived is still refused.
    let refund = json!({ "paymentIntentId": id, "amountCents": 100 });
    kept_from_the_processor_by_a_crash(&mut app, "/api/v1/payments/refund", "refund-unsent", refund.clone()).await;
    let other =
        app.post_with_key("/api/v1/payments/refund", app.sk(), "refund-unsent", json!({ "paymentIntentId": id, "amountCents": 200 })).await;
    assert_eq!(other.error(409, "DUPLICATE_REQUEST")["details"]["retryable"], false);
    let retry = app.post_with_key("/api/v1/payments/refund", app.sk(), "refund-unsent", refund).await;
    assert_eq!(retry.data(200)["refundedAmountCents"], 100);
    assert_eq!(app.processor.effects_of("refund").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_call_is_a_new_claim_the_reconciler_leaves_to_its_retry() {
    let mut app = TestApp::new().await;
    let sale = json!({ "amountCents": 1_200, "currency": "USD", "card": card("4242424242424242") });
    kept_from_the_processor_by_a_crash(&mut app, "/api/v1/payments/sale", "sale-old", sale.clone()).await;
    // The claim is old by now.
    let mut db = app.db.connect().await;
    sqlx::query("UPDATE payment_operations SET created_at = created_at - 120000").execute(&mut db).await.unwrap();
    sqlx::query("UPDATE idempotency_keys SET created_at = created_at - 120000").execute(&mut db).await.unwrap();
    // Its retry is on the way to the processor when the reconciler looks: it asks nothing about
    // an operation claimed again a moment ago, so it cannot find it unsent and undo the retry.
    app.processor.go_silent_before_next_effect();
    let retry = in_background(&app, "/api/v1/payments/sale", Some("sale-old"), sale.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(kassa_server::payments::reconcile(&app.state, Duration::from_secs(30)).await.unwrap(), 0);
    let id = app.all_intent_ids().await.remove(0);
    assert_eq!(app.intent(&id).await["intent"]["status"], "processing");
    retry.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_forgotten_and_used_again_never_revives_the_call_it_once_named() {
    let mut app = TestApp::new().await;
    let sale = json!({ "amountCents": 1_300, "currency": "USD", "card": card("4242424242424242") });
    kept_from_the_processor_by_a_crash(&mut app, "/api/v1/payments/sale", "reused", sale).await;
    let first = app.all_intent_ids().await.remove(0);
    // A day later the key is forgotten, and names another request, whose processor fails.
    let mut db = app.db.connect().await;
    sqlx::query("DELETE FROM idempotency_keys WHERE key = 'reused'").execute(&mut db).await.unwrap();
    let other = json!({ "amountCents": 800, "currency": "USD", "card": card("4000000000000119") });
    let failed = app.post_with_key("/api/v1/payments/sale", app.sk(), "reused", other.clone()).await;
    let second = failed.error(502, "PROVIDER_ERROR")["details"]["paymentIntentId"].as_str().unwrap().to_owned();
    // Its retry replays its own failure; the old sale is not sent.
    let retry = app.post_with_key("/api/v1/payments/sale", app.sk(), "reused", other).await;
    assert_eq!(retry.error(502, "PROVIDER_ERROR")["details"]["paymentIntentId"], second.as_str());
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert!(app.processor.effects_of("sale").is_empty());
    assert_eq!(app.intent(&first).await["intent"]["status"], "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_of_a_saved_card_payment_brings_the_customer_s_session_again() {
    let mut app = TestApp::new().await;
    let customer = app.post("/api/v1/customers", app.sk(), json!({ "name": "Jo" })).await.data(201)["id"].as_str().unwrap().to_owned();
    let token = app.post("/api/v1/payment-methods", app.pk(), json!({ "card": card("4242424242424242") })).await.data(201)["id"].clone();
    let saved = app.post(&format!("/api/v1/customers/{customer}/payment-methods"), app.sk(), json!({ "token": token })).await.data(201)
        ["id"]
        .clone();
    let session = app.post(&format!("/api/v1/customers/{customer}/sessions"), app.sk(), json!({})).await.data(201)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let intent = app
        .post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 600, "currency": "USD", "customerId": customer }))
        .await
        .data(201)
        .clone();
    let id = intent["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/payments/intents/{id}/confirm");
    let body = json!({ "clientSecret": intent["clientSecret"], "paymentMethodId": saved });
    let pk = app.pk().to_owned();
    let in_session = [("kassa-customer-session", session.as_str())];
    kept_from_the_processor_by_a_crash_as(&mut app, &pk, &in_session, &path, "confirm-saved", body.clone()).await;
    assert_eq!(app.intent(&id).await["intent"]["status"], "requires_payment_method");
    // Whoever has the body but not the session cannot send the call again.
    let send = |headers: &'static [(&'static str, &'static str)]| {
        let (app, path, body) = (&app, path.clone(), body.clone());
        async move {
            let mut all = vec![("idempotency-key", "confirm-saved")];
            all.extend_from_slice(headers);
            app.send("POST", &path, Some(app.pk()), &all, Some(body.to_string().into_bytes())).await
        }
    };
    send(&[]).await.error(403, "FORBIDDEN");
    send(&[("kassa-customer-session", "cus_nobody_session_forged")]).await.error(403, "FORBIDDEN");
    assert!(app.processor.effects_of("sale").is_empty());
    let mut headers = vec![("idempotency-key", "confirm-saved")];
    headers.extend_from_slice(&in_session);
    let paid = app.send("POST", &path, Some(app.pk()), &headers, Some(body.to_string().into_bytes())).await;
    assert_eq!(paid.data(200)["status"], "captured");
    assert_eq!(app.processor.effects_of("sale").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retries_of_an_unsent_capture_racing_new_captures_on_two_servers_capture_once() {
    let mut app = TestApp::with_latency(LATENCY).await;
    let id = app.authorized(3_000).await;
    kept_from_the_processor_by_a_crash(&mut app, "/api/v1/payments/capture", "capture-unsent", json!({ "paymentIntentId": id })).await;
    let (_, other) = app.second_server().await;
    let app = Arc::new(app);
    let other = Arc::new(other);
    let bearer = format!("Bearer {}", app.sk());
    // Retries of the unsent capture and captures under keys of their own, on both servers at once.
    let sends = (0..12).map(|i| {
        let (app, other, bearer, id) = (app.clone(), other.clone(), bearer.clone(), id.clone());
        tokio::spawn(async move {
            let key = if i % 2 == 0 { "capture-unsent".to_owned() } else { format!("capture-new-{i}") };
            let headers = [("authorization", bearer.as_str()), ("idempotency-key", key.as_str())];
            let body = Some(json!({ "paymentIntentId": id }).to_string().into_bytes());
            let response = if i % 4 < 2 {
                app.send("POST", "/api/v1/payments/capture", None, &headers, body).await
            } else {
                app.send_to(&other, "POST", "/api/v1/payments/capture", &headers, body).await
            };
            (key, response)
        })
    });
    let answers: Vec<(String, TestResponse)> = join_all(sends).await.into_iter().map(|r| r.unwrap()).collect();
    none_internal(&answers.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>());
    for (key, response) in &answers {
        match response.status.as_u16() {
            200 => assert_eq!(response.json["data"]["status"], "captured"),
            409 => {}
            // Only the unsent capture's own retry may answer with its recorded failure, when a
            // new capture took the payment first.
            502 => assert_eq!(key, "capture-unsent", "{}", response.json),
            other => panic!("{key}: {other} {}", response.json),
        }
    }
    // The processor captured once, and the books say so.
    assert_eq!(app.processor.effects_of("capture").len(), 1);
    let history = app.intent(&id).await;
    assert_eq!(history["intent"]["status"], "captured");
    assert_eq!(history["intent"]["capturedAmountCents"], 3_000);
    let approved =
        history["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == "capture" && t["status"] == "approved").count();
    assert_eq!(approved, 1);
}
