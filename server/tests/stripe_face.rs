//! The Stripe face at `/v1/`, through HTTP, where an attacker or an unlucky retry would push it:
//! a key reused for another request, keys it cannot read, what a publishable or restricted key
//! may see through `expand`, card numbers in what it answers, and retries of what it already did.
//! (The official Stripe libraries drive the happy paths in `tests/stripe-clients.test.mjs`.)

mod common;

use common::TestApp;
use serde_json::{json, Value};

/// A form POST to the face, as Stripe's clients send it.
async fn form(app: &TestApp, path: &str, key: &str, idempotency_key: Option<&str>, body: &str) -> common::TestResponse {
    let headers: Vec<(&str, &str)> = idempotency_key.map(|k| ("idempotency-key", k)).into_iter().collect();
    app.send("POST", path, Some(key), &headers, Some(body.as_bytes().to_vec())).await
}

fn stripe_error<'a>(response: &'a common::TestResponse, status: u16, kind: &str) -> &'a Value {
    assert_eq!(response.status.as_u16(), status, "body: {}", response.json);
    assert_eq!(response.json["error"]["type"], kind, "body: {}", response.json);
    &response.json["error"]
}

fn paid(app: &TestApp) -> usize {
    app.processor.effects_of("sale").len() + app.processor.effects_of("authorize").len()
}

#[tokio::test]
async fn a_key_whose_request_failed_after_its_intent_was_made_does_not_pay_for_another_request() {
    let app = TestApp::new().await;
    // A return address the confirmation refuses: it fails after the intent was created.
    let before = paid(&app);
    let intents = app.all_intent_ids().await.len();
    let body = "amount=5000&currency=usd&confirm=true&payment_method=pm_card_visa&return_url=ftp%3A%2F%2Fshop.example";
    let first = form(&app, "/v1/payment_intents", app.sk(), Some("order-77"), body).await;
    assert_eq!(stripe_error(&first, 400, "invalid_request_error")["param"], "return_url");
    assert_eq!(app.all_intent_ids().await.len(), intents + 1, "the intent was made before the confirmation failed");
    // The same key with another body is another request: refused, and nothing is paid.
    let other =
        form(&app, "/v1/payment_intents", app.sk(), Some("order-77"), "amount=100&currency=eur&confirm=true&payment_method=pm_card_visa")
            .await;
    stripe_error(&other, 400, "idempotency_error");
    assert_eq!(paid(&app), before, "nothing reached the processor");
    // The same request again is answered as it was, with the same intent.
    let again = form(&app, "/v1/payment_intents", app.sk(), Some("order-77"), body).await;
    stripe_error(&again, 400, "invalid_request_error");
    assert_eq!(app.all_intent_ids().await.len(), intents + 1, "no second intent");
    assert_eq!(paid(&app), before);
}

#[tokio::test]
async fn setup_future_usage_without_a_customer_is_refused_before_anything_is_made() {
    let app = TestApp::new().await;
    let intents = app.all_intent_ids().await.len();
    let refused = form(
        &app,
        "/v1/payment_intents",
        app.sk(),
        None,
        "amount=5000&currency=usd&confirm=true&payment_method=pm_card_visa&setup_future_usage=off_session",
    )
    .await;
    assert_eq!(stripe_error(&refused, 400, "invalid_request_error")["param"], "setup_future_usage");
    assert_eq!(app.all_intent_ids().await.len(), intents, "no intent was made");
}

#[tokio::test]
async fn an_idempotency_key_that_cannot_be_read_is_refused_and_never_replaced() {
    let app = TestApp::new().await;
    let body = "amount=700&currency=eur&confirm=true&payment_method=pm_card_visa";
    for _ in 0..2 {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/v1/payment_intents")
            .header("authorization", format!("Bearer {}", app.sk()))
            .header("idempotency-key", axum::http::HeaderValue::from_bytes("commande-é-42".as_bytes()).unwrap())
            .body(axum::body::Body::from(body))
            .unwrap();
        let response = tower::ServiceExt::oneshot(app.router.clone(), request).await.unwrap();
        assert_eq!(response.status(), 400);
    }
    assert_eq!(paid(&app), 0, "nothing was paid under a key the server could not read");
}

#[tokio::test]
async fn a_key_kassa_s_own_api_used_names_no_step_of_a_stripe_request() {
    let app = TestApp::new().await;
    // Kassa's API, under the key the Stripe request will send: a one-cent intent.
    app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 1, "currency": "USD", "clientRequestId": "order-9" }))
        .await
        .data(201);
    let before = paid(&app);
    let other =
        form(&app, "/v1/payment_intents", app.sk(), Some("order-9"), "amount=99900&currency=usd&confirm=true&payment_method=pm_card_visa")
            .await;
    stripe_error(&other, 400, "idempotency_error");
    assert_eq!(paid(&app), before, "the one-cent intent was not paid for the other request");
}

#[tokio::test]
async fn a_publishable_key_sees_no_hidden_decline_code_customer_metadata_or_charge() {
    let app = TestApp::new().await;
    let customer = form(&app, "/v1/customers", app.sk(), None, "email=ada%40shop.example&name=Ada").await;
    let customer = customer.json["id"].as_str().unwrap().to_owned();
    let created =
        form(&app, "/v1/payment_intents", app.sk(), None, &format!("amount=900&currency=usd&customer={customer}&metadata[vip]=yes")).await;
    assert_eq!(created.status, 200, "{}", created.json);
    let (id, secret) = (created.json["id"].as_str().unwrap().to_owned(), created.json["client_secret"].as_str().unwrap().to_owned());
    let declined = form(
        &app,
        &format!("/v1/payment_intents/{id}/confirm"),
        app.pk(),
        None,
        &format!("payment_method=pm_card_chargeDeclinedStolenCard&client_secret={secret}"),
    )
    .await;
    let error = stripe_error(&declined, 402, "card_error");
    assert_eq!(error["decline_code"], "generic_decline");
    assert_eq!(error["payment_intent"]["last_payment_error"]["decline_code"], "generic_decline", "{}", declined.json);
    assert!(!declined.bytes.windows(6).any(|w| w == b"stolen"), "{}", declined.json);
    let seen = app
        .send(
            "GET",
            &format!("/v1/payment_intents/{id}?client_secret={secret}&expand[]=latest_charge&expand[]=customer"),
            Some(app.pk()),
            &[],
            None,
        )
        .await;
    assert_eq!(seen.status, 200, "{}", seen.json);
    assert_eq!(seen.json["customer"], Value::Null);
    assert_eq!(seen.json["latest_charge"], Value::Null);
    assert_eq!(seen.json["metadata"], json!({}));
    assert_eq!(seen.json["last_payment_error"]["decline_code"], "generic_decline");
    // The secret key is told everything.
    let full = app.send("GET", &format!("/v1/payment_intents/{id}?expand[]=customer"), Some(app.sk()), &[], None).await;
    assert_eq!(full.json["customer"]["email"], "ada@shop.example");
    assert_eq!(full.json["last_payment_error"]["decline_code"], "stolen_card");
}

#[tokio::test]
async fn expand_shows_a_customer_only_to_a_key_that_may_see_customers() {
    let app = TestApp::new().await;
    let customer = form(&app, "/v1/customers", app.sk(), None, "email=grace%40shop.example").await;
    let customer = customer.json["id"].as_str().unwrap().to_owned();
    let pi = form(
        &app,
        "/v1/payment_intents",
        app.sk(),
        None,
        &format!("amount=900&currency=usd&customer={customer}&confirm=true&payment_method=pm_card_visa"),
    )
    .await;
    let id = pi.json["id"].as_str().unwrap();
    let viewer = app.restricted_key(&["payments.transactions.view"]).await;
    let refused = app.send("GET", &format!("/v1/customers/{customer}"), Some(&viewer), &[], None).await;
    stripe_error(&refused, 403, "invalid_request_error");
    let seen =
        app.send("GET", &format!("/v1/payment_intents/{id}?expand[]=customer&expand[]=payment_method"), Some(&viewer), &[], None).await;
    assert_eq!(seen.status, 200, "{}", seen.json);
    assert_eq!(seen.json["customer"], customer.as_str(), "the id only");
    assert!(seen.json["payment_method"].is_string(), "the id only: {}", seen.json["payment_method"]);
}

#[tokio::test]
async fn no_card_number_comes_back_in_an_error() {
    let app = TestApp::new().await;
    let number = "4242424242424242";
    for (path, body) in [
        ("/v1/payment_methods", format!(r#"{{"card":{{"number":"{number}","cvc":"123"}}}}"#)),
        ("/v1/payment_intents", format!("amount=100&currency=usd&confirm=true&payment_method={number}")),
        ("/v1/payment_methods", format!("type=card&card[number]={number}x&card[exp_month]=12&card[exp_year]=2030")),
        ("/v1/payment_methods", format!("type=card&card[{number}]=1")),
    ] {
        let response = form(&app, path, app.sk(), None, &body).await;
        assert!(response.status.is_client_error(), "{path} {body}: {}", response.json);
        let text = String::from_utf8_lossy(&response.bytes);
        assert!(!text.contains("424242424242"), "{path} {body} answered {text}");
        assert!(!text.contains("\"123\""), "{path} {body} answered {text}");
    }
    let path = app.send("GET", &format!("/v1/payment_intents/pi_{number}"), Some(app.sk()), &[], None).await;
    assert!(!String::from_utf8_lossy(&path.bytes).contains("424242424242"), "{}", path.json);
}

#[tokio::test]
async fn a_detach_sent_again_is_answered_as_it_was() {
    let app = TestApp::new().await;
    let customer = form(&app, "/v1/customers", app.sk(), None, "name=Ada").await.json["id"].as_str().unwrap().to_owned();
    let pm = form(
        &app,
        "/v1/payment_methods",
        app.sk(),
        None,
        "type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2031&card[cvc]=123",
    )
    .await;
    let pm = pm.json["id"].as_str().unwrap().to_owned();
    let attached = form(&app, &format!("/v1/payment_methods/{pm}/attach"), app.sk(), None, &format!("customer={customer}")).await;
    assert_eq!(attached.json["customer"], customer.as_str(), "{}", attached.json);
    let first = form(&app, &format!("/v1/payment_methods/{pm}/detach"), app.sk(), Some("det-1"), "").await;
    assert_eq!(first.status, 200, "{}", first.json);
    assert_eq!(first.json["customer"], Value::Null);
    let again = form(&app, &format!("/v1/payment_methods/{pm}/detach"), app.sk(), Some("det-1"), "").await;
    assert_eq!(again.status, 200, "{}", again.json);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.json["id"], pm.as_str());
}

#[tokio::test]
async fn a_card_asked_to_be_saved_is_saved_once_through_capture_and_reuse() {
    let app = TestApp::new().await;
    let customer = form(&app, "/v1/customers", app.sk(), None, "name=Ada").await.json["id"].as_str().unwrap().to_owned();
    let body = format!("amount=3000&currency=usd&capture_method=manual&customer={customer}&setup_future_usage=off_session&payment_method=pm_card_visa&confirm=true");
    let pi = form(&app, "/v1/payment_intents", app.sk(), None, &body).await;
    assert_eq!(pi.json["status"], "requires_capture", "{}", pi.json);
    let id = pi.json["id"].as_str().unwrap().to_owned();
    let cards = || async {
        let listed = app.get(&format!("/v1/payment_methods?customer={customer}&type=card"), app.sk()).await;
        assert_eq!(listed.status, 200, "{}", listed.json);
        listed.json["data"].as_array().unwrap().iter().map(|card| card["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(cards().await.len(), 1);
    let captured = form(&app, &format!("/v1/payment_intents/{id}/capture"), app.sk(), None, "amount_to_capture=").await;
    assert_eq!(captured.status, 200, "{}", captured.json);
    assert_eq!(captured.json["status"], "succeeded");
    assert_eq!(captured.json["amount_received"], 3000);
    let saved = cards().await;
    assert_eq!(saved.len(), 1, "the capture saved no second card");
    // Paying with the saved card, asking again to save it, saves nothing more.
    let pm = &saved[0];
    let body = format!("amount=1200&currency=usd&customer={customer}&setup_future_usage=off_session&payment_method={pm}&confirm=true");
    let again = form(&app, "/v1/payment_intents", app.sk(), None, &body).await;
    assert_eq!(again.json["status"], "succeeded", "{}", again.json);
    assert_eq!(again.json["payment_method"], pm.as_str());
    assert_eq!(cards().await, saved, "a saved card is not saved twice");
}

#[tokio::test]
async fn a_refund_under_a_key_that_names_another_is_found_by_the_key_it_ran_under() {
    let app = TestApp::new().await;
    let pi = form(&app, "/v1/payment_intents", app.sk(), None, "amount=2000&currency=usd&confirm=true&payment_method=pm_card_visa").await;
    let id = pi.json["id"].as_str().unwrap().to_owned();
    // Kassa's API: a header and a body key name one request (the second becomes the first's other name).
    app.send(
        "POST",
        "/api/v1/payments/refund",
        Some(app.sk()),
        &[("idempotency-key", "ka-1")],
        Some(json!({ "paymentIntentId": "pi_missing", "clientRequestId": "kb-1" }).to_string().into_bytes()),
    )
    .await;
    let refund = form(&app, "/v1/refunds", app.sk(), Some("kb-1"), &format!("payment_intent={id}&amount=500")).await;
    assert_eq!(refund.status, 200, "{}", refund.json);
    assert_eq!(refund.json["object"], "refund");
    assert_eq!(refund.json["amount"], 500);
    assert_eq!(refund.json["status"], "succeeded");
    let again = form(&app, "/v1/refunds", app.sk(), Some("kb-1"), &format!("payment_intent={id}&amount=500")).await;
    assert_eq!(again.status, 200, "{}", again.json);
    assert_eq!(again.json["id"], refund.json["id"]);
    assert_eq!(app.processor.effects_of("refund").len(), 1, "one refund reached the processor");
}

#[tokio::test]
async fn a_challenge_open_at_stripe_is_not_canceled_behind_stripe_s_back() {
    let app = TestApp::on_stripe().await;
    let pi = form(
        &app,
        "/v1/payment_intents",
        app.sk(),
        None,
        "amount=3100&currency=usd&confirm=true&payment_method=pm_card_threeDSecure2Required",
    )
    .await;
    assert_eq!(pi.json["status"], "requires_action", "{} {}", pi.status, pi.json);
    let id = pi.json["id"].as_str().unwrap();
    let refused = form(&app, &format!("/v1/payment_intents/{id}/cancel"), app.sk(), None, "").await;
    assert_eq!(stripe_error(&refused, 400, "invalid_request_error")["code"], "payment_intent_unexpected_state");
    assert_eq!(app.intent(id).await["intent"]["status"], "requires_action", "the payment is left to its challenge");
    // On the sandbox the challenge is Kassa's own page: canceling closes it.
    let sandbox = TestApp::new().await;
    let pi = form(
        &sandbox,
        "/v1/payment_intents",
        sandbox.sk(),
        None,
        "amount=3100&currency=usd&confirm=true&payment_method=pm_card_threeDSecure2Required",
    )
    .await;
    let id = pi.json["id"].as_str().unwrap();
    let canceled = form(&sandbox, &format!("/v1/payment_intents/{id}/cancel"), sandbox.sk(), None, "").await;
    assert_eq!(canceled.json["status"], "canceled", "{}", canceled.json);
}

/// Captures and refunds of one payment raced under different keys, half of them on a second
/// server on the same database: the processor is asked once for each.
#[tokio::test]
async fn racing_captures_and_refunds_under_different_keys_on_two_servers_reach_the_processor_once() {
    let app = std::sync::Arc::new(TestApp::with_latency(std::time::Duration::from_millis(40)).await);
    let (_, other) = app.second_server().await;
    let other = std::sync::Arc::new(other);
    let pi = form(
        &app,
        "/v1/payment_intents",
        app.sk(),
        None,
        "amount=2500&currency=usd&confirm=true&capture_method=manual&payment_method=pm_card_visa",
    )
    .await;
    assert_eq!(pi.json["status"], "requires_capture", "{}", pi.json);
    let id = pi.json["id"].as_str().unwrap().to_owned();
    let race = |path: String, body: String| {
        let (app, other) = (app.clone(), other.clone());
        async move {
            let sends = (0..8).map(|i| {
                let (app, other, path, body) = (app.clone(), other.clone(), path.clone(), body.clone());
                tokio::spawn(async move {
                    let auth = format!("Bearer {}", app.sk());
                    let key = format!("race-{i}-{}", rand::random::<u32>());
                    let headers = [("authorization", auth.as_str()), ("idempotency-key", key.as_str())];
                    let router = if i % 2 == 0 { &app.router } else { other.as_ref() };
                    app.send_to(router, "POST", &path, &headers, Some(body.as_bytes().to_vec())).await
                })
            });
            futures_util::future::join_all(sends).await.into_iter().map(|r| r.unwrap()).collect::<Vec<_>>()
        }
    };
    let captures = race(format!("/v1/payment_intents/{id}/capture"), String::new()).await;
    assert_eq!(captures.iter().filter(|r| r.status == 200).count(), 1, "{:?}", captures.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(app.processor.effects_of("capture").len(), 1, "one capture reached the processor");
    let refunds = race("/v1/refunds".to_owned(), format!("payment_intent={id}")).await;
    assert_eq!(
        refunds.iter().filter(|r| r.status == 200).count(),
        1,
        "{:?}",
        refunds.iter().map(|r| (r.status, r.json["error"]["code"].clone())).collect::<Vec<_>>()
    );
    assert_eq!(app.processor.effects_of("refund").len(), 1, "one refund reached the processor");
    assert_eq!(app.intent(&id).await["intent"]["refundedAmountCents"], 2500);
}
