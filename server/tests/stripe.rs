//! The Stripe connector against localstripe, a Stripe-compatible server: every flow through
//! Kassa's HTTP API, checked in Kassa's answer and in localstripe's own records.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::process::{create_merchant_with, request, try_request, ServerProcess};
use common::{card, localstripe, TestApp, TestDb, STRIPE_WEBHOOK_SECRET};
use kassa_server::crypto::Keyring;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn id(response: &Value) -> String {
    response["id"].as_str().unwrap().to_owned()
}

fn reference(response: &Value) -> String {
    response["providerReference"].as_str().expect("a provider reference").to_owned()
}

#[tokio::test]
async fn a_sale_is_a_paid_payment_intent_at_stripe_with_its_card_checks_and_its_history_names_stripe_s_references() {
    let app = TestApp::on_stripe().await;
    let sale = app.sale("4242424242424242", 1500).await;
    let data = sale.data(201);
    assert_eq!(data["status"], "captured");
    assert_eq!(data["capturedAmountCents"], 1500);
    assert_eq!(data["cardLast4"], "4242");
    let pi_id = reference(data);
    assert!(pi_id.starts_with("pi_"), "{pi_id}");

    let pi = localstripe::payment_intent(&pi_id).await;
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["amount"], 1500);
    assert_eq!(pi["currency"], "usd");
    assert_eq!(pi["capture_method"], "automatic");
    assert_eq!(pi["metadata"]["kassa_payment"], id(data).as_str());
    assert!(pi["payment_method"].as_str().unwrap().starts_with("pm_"));
    assert_eq!(localstripe::payment_intents_of(&id(data)).await.len(), 1, "one PaymentIntent per payment");

    let history = app.intent(&id(data)).await;
    let transactions = history["transactions"].as_array().unwrap();
    assert!(!transactions.is_empty());
    for t in transactions {
        assert_eq!(t["providerReference"], pi_id.as_str(), "every call names Stripe's reference: {t}");
    }

    // The issuer's checks, as Stripe's charge reports them, in the card networks' codes.
    let charge = &pi["latest_charge"];
    assert_eq!(charge["payment_method_details"]["card"]["checks"]["cvc_check"], "pass");
    assert_eq!((data["avsResponse"].as_str(), data["cvvResponse"].as_str()), (Some("Z"), Some("M")));
    assert_eq!(data["authCode"], charge["authorization_code"]);
    assert!(data["authCode"].as_str().is_some_and(|c| !c.is_empty()));
    // Stripe's test cards whose CVC check, or postal code check, fails.
    let cvc_failed = app.sale("4000000000000101", 700).await.data(201).clone();
    assert_eq!((cvc_failed["avsResponse"].as_str(), cvc_failed["cvvResponse"].as_str()), (Some("Z"), Some("N")));
    let postal_failed = app.sale("4000000000000036", 700).await.data(201).clone();
    assert_eq!((postal_failed["avsResponse"].as_str(), postal_failed["cvvResponse"].as_str()), (Some("N"), Some("M")));
}

#[tokio::test]
async fn a_declined_card_is_card_declined_and_stripe_holds_a_failed_attempt() {
    let app = TestApp::on_stripe().await;
    // Stripe's card that is declined when charged.
    let declined = app.sale("4000000000000341", 1200).await;
    let error = declined.error(402, "CARD_DECLINED");
    assert_eq!(error["details"]["declineCode"], "generic_decline");
    let payment = error["details"]["paymentIntentId"].as_str().unwrap().to_owned();
    let intent = app.intent(&payment).await;
    assert_eq!(intent["intent"]["status"], "declined");

    let at_stripe = localstripe::payment_intents_of(&payment).await;
    assert_eq!(at_stripe.len(), 1);
    assert_eq!(at_stripe[0]["status"], "requires_payment_method");
    assert_eq!(at_stripe[0]["last_payment_error"]["code"], "card_declined");
    assert_eq!(intent["intent"]["providerReference"], at_stripe[0]["id"]);
}

#[tokio::test]
async fn an_authorization_is_captured_in_part_or_voided_at_stripe() {
    let app = TestApp::on_stripe().await;
    let authorized = app.authorize("4242424242424242", 2000).await;
    let data = authorized.data(201).clone();
    assert_eq!(data["status"], "authorized");
    let pi_id = reference(&data);
    assert_eq!(localstripe::payment_intent(&pi_id).await["status"], "requires_capture");

    let captured = app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": id(&data), "amountCents": 1200 })).await;
    assert_eq!(captured.data(200)["status"], "captured");
    assert_eq!(captured.data(200)["capturedAmountCents"], 1200);
    let pi = localstripe::payment_intent(&pi_id).await;
    assert_eq!(pi["status"], "succeeded");
    let charge = &pi["latest_charge"];
    assert_eq!(charge["captured"], true);
    // localstripe keeps the uncaptured rest as released: 2000 held, 800 returned.
    assert_eq!(charge["amount"], 2000);
    assert_eq!(charge["amount_refunded"], 800);
    let history = app.intent(&id(&data)).await;
    let capture = history["transactions"].as_array().unwrap().iter().find(|t| t["type"] == "capture").unwrap().clone();
    assert_eq!(capture["providerReference"], charge["id"], "the capture names Stripe's charge");

    let voidable = app.authorize("4242424242424242", 900).await.data(201).clone();
    let voided = app.post("/api/v1/payments/void", app.sk(), json!({ "paymentIntentId": id(&voidable) })).await;
    assert_eq!(voided.data(200)["status"], "voided");
    assert_eq!(localstripe::payment_intent(&reference(&voidable)).await["status"], "canceled");
}

#[tokio::test]
async fn partial_refunds_reach_stripe_and_one_past_the_captured_amount_is_refused_before_it() {
    let app = TestApp::on_stripe().await;
    let sale = app.sale("4242424242424242", 3000).await.data(201).clone();
    let refund =
        |amount: i64| app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id(&sale), "amountCents": amount }));
    assert_eq!(refund(1000).await.data(200)["status"], "partially_refunded");
    let second = refund(500).await;
    assert_eq!(second.data(200)["refundedAmountCents"], 1500);
    let past = refund(2000).await;
    assert_eq!(past.error(409, "INVALID_STATE")["details"]["refundableCents"], 1500);

    let refunds = localstripe::refunds_of(&reference(&sale)).await;
    let mut amounts: Vec<i64> = refunds.iter().map(|r| r["amount"].as_i64().unwrap()).collect();
    amounts.sort();
    assert_eq!(amounts, [500, 1000], "the refused refund never reached Stripe");
    let history = app.intent(&id(&sale)).await;
    let mut refund_refs: Vec<String> = history["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["type"] == "refund")
        .map(|t| t["providerReference"].as_str().unwrap().to_owned())
        .collect();
    let mut stripe_refs: Vec<String> = refunds.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    refund_refs.sort();
    stripe_refs.sort();
    assert_eq!(refund_refs, stripe_refs, "each refund names Stripe's refund");
}

#[tokio::test]
async fn a_tip_fits_inside_the_authorization_and_past_it_the_error_names_stripe_s_limit() {
    let app = TestApp::on_stripe().await;
    let authorized = app.authorize("4242424242424242", 1000).await.data(201).clone();
    let refused = app.post(&format!("/api/v1/payments/{}/tip", id(&authorized)), app.sk(), json!({ "tipCents": 200 })).await;
    let message = refused.error(409, "INVALID_STATE")["message"].as_str().unwrap().to_owned();
    assert!(message.contains("Stripe captures at most the 1000 it authorized"), "{message}");
    assert_eq!(app.intent(&id(&authorized)).await["intent"]["tipCents"], 0, "nothing changed");
    assert_eq!(localstripe::payment_intent(&reference(&authorized)).await["status"], "requires_capture");

    let captured = app.sale("4242424242424242", 1000).await.data(201).clone();
    let after = app.post(&format!("/api/v1/payments/{}/tip", id(&captured)), app.sk(), json!({ "tipCents": 100 })).await;
    assert!(after.error(409, "INVALID_STATE")["message"]
        .as_str()
        .unwrap()
        .contains("Stripe cannot change the amount of a captured payment"));
    assert_eq!(localstripe::payment_intent(&reference(&captured)).await["amount"], 1000);
}

/// The cardholder in Kassa's challenge window: Kassa's challenge address sends them to Stripe's
/// page, they complete (or fail) the authentication there, and Stripe sends them back to Kassa's
/// return address. Returns Kassa's return address as Stripe filled it in.
async fn through_stripe_s_page(app: &TestApp, challenge_url: &str, complete: bool) -> String {
    let path = &challenge_url[challenge_url.find("/3ds").unwrap()..];
    let sent = app.send("GET", path, None, &[], None).await;
    assert_eq!(sent.status, 303, "Kassa sends the cardholder to Stripe's page: {}", String::from_utf8_lossy(&sent.bytes));
    assert_eq!(sent.headers["referrer-policy"], "no-referrer", "the challenge address's session goes nowhere");
    let stripe_page = sent.headers["location"].to_str().unwrap().to_owned();
    let back = localstripe::answer_challenge(&stripe_page, complete).await;
    back[back.find("/3ds").expect("back to Kassa's return address")..].to_owned()
}

/// Kassa's page at its return address: `(status, the intent's status it reports)`.
async fn returned(app: &TestApp, path: &str) -> (u16, String) {
    let page = app.send("GET", path, None, &[], None).await;
    let html = String::from_utf8_lossy(&page.bytes).into_owned();
    let status = html.split("data-status=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default().to_owned();
    (page.status.as_u16(), status)
}

async fn browser_intent(app: &TestApp, amount: i64) -> (String, String) {
    let created = app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": amount, "currency": "EUR" })).await;
    let data = created.data(201);
    (id(data), data["clientSecret"].as_str().unwrap().to_owned())
}

async fn confirm(app: &TestApp, id: &str, body: Value) -> common::TestResponse {
    app.send(
        "POST",
        &format!("/api/v1/payments/intents/{id}/confirm"),
        Some(app.pk()),
        &[("origin", "http://shop.test")],
        Some(body.to_string().into_bytes()),
    )
    .await
}

/// A browser's intent confirmed with a card that asks for 3-D Secure: its id, its client secret,
/// and the `requires_action` answer.
async fn challenged(app: &TestApp, amount: i64, number: &str) -> (String, String, Value) {
    let (payment, secret) = browser_intent(app, amount).await;
    let pending = confirm(app, &payment, json!({ "clientSecret": secret, "card": card(number) })).await.data(200).clone();
    assert_eq!(pending["status"], "requires_action", "{pending}");
    (payment, secret, pending)
}

#[tokio::test]
async fn three_d_secure_runs_on_stripe_s_page_and_the_cardholder_s_return_resumes_the_intent() {
    let app = TestApp::on_stripe().await;
    let (payment, secret) = browser_intent(&app, 4200).await;
    let pending = confirm(&app, &payment, json!({ "clientSecret": secret, "card": card("4000002760003184") })).await;
    let data = pending.data(200).clone();
    assert_eq!(data["status"], "requires_action");
    assert_eq!(data["nextAction"]["type"], "three_ds_challenge");
    let challenge = data["nextAction"]["url"].as_str().unwrap().to_owned();
    assert!(
        challenge.contains(&format!("/3ds/{payment}/challenge?session=")),
        "the checkout opens Kassa's address, as with the sandbox: {challenge}"
    );
    // The confirmation named Kassa's return address, so Stripe asks for its own page.
    let pi_id = reference(&data);
    let pi = localstripe::payment_intent(&pi_id).await;
    assert_eq!(pi["status"], "requires_action");
    assert_eq!(pi["next_action"]["type"], "redirect_to_url");
    let return_url = pi["next_action"]["redirect_to_url"]["return_url"].as_str().unwrap().to_owned();
    assert!(return_url.starts_with("http") && return_url.contains(&format!("/3ds/{payment}/return?kassa_return=mac:")), "{return_url}");

    let path = &challenge[challenge.find("/3ds").unwrap()..];
    let session = path.split("session=").nth(1).unwrap();
    let shown = app.send("GET", path, None, &[], None).await;
    assert_eq!(shown.status, 303);
    assert_eq!(shown.headers["location"], pi["next_action"]["redirect_to_url"]["url"].as_str().unwrap(), "to Stripe's page");
    // A code posted to Kassa's page is not an answer to Stripe's challenge: it changes nothing.
    let form = format!("session={session}&code=123456&action=verify");
    let posted = app
        .send(
            "POST",
            path.split('?').next().unwrap(),
            None,
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(form.into_bytes()),
        )
        .await;
    assert_eq!(posted.status, 303);
    assert_eq!(app.intent(&payment).await["intent"]["status"], "requires_action");

    let back = through_stripe_s_page(&app, &challenge, true).await;
    // A return address without Stripe's proof shows nothing and changes nothing.
    for forged in [
        format!("/3ds/{payment}/return"),
        format!("/3ds/{payment}/return?payment_intent={pi_id}&payment_intent_client_secret={pi_id}_secret_guess"),
    ] {
        assert_eq!(returned(&app, &forged).await.0, 404, "{forged}");
        assert_eq!(app.intent(&payment).await["intent"]["status"], "requires_action");
    }
    assert_eq!(returned(&app, &back).await, (200, "captured".to_owned()));
    let after = app.intent(&payment).await;
    assert_eq!(after["intent"]["status"], "captured");
    assert_eq!(after["intent"]["capturedAmountCents"], 4200);
    assert_eq!(localstripe::payment_intent(&pi_id).await["status"], "succeeded");
    assert_eq!(localstripe::payment_intents_of(&payment).await.len(), 1, "the challenge resumed the same PaymentIntent");
    let kinds: Vec<&str> = after["transactions"].as_array().unwrap().iter().map(|t| t["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "three_ds").count(), 2, "asked for, then passed: {kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "capture").count(), 1, "{kinds:?}");
    // Coming back twice (a reload) shows the outcome again and records nothing more.
    assert_eq!(returned(&app, &back).await, (200, "captured".to_owned()));
    assert_eq!(app.intent(&payment).await["transactions"], after["transactions"]);

    // A failed challenge leaves the intent for another card, and Stripe charged nothing.
    let (payment, secret, pending) = challenged(&app, 1800, "4000002760003184").await;
    let back = through_stripe_s_page(&app, pending["nextAction"]["url"].as_str().unwrap(), false).await;
    assert_eq!(returned(&app, &back).await, (200, "requires_payment_method".to_owned()));
    let after = app.intent(&payment).await;
    assert_eq!(after["intent"]["lastError"]["declineCode"], "authentication_failed");
    let pi = localstripe::payment_intent(&reference(&pending)).await;
    assert_eq!(pi["status"], "requires_payment_method");
    assert_eq!(pi["last_payment_error"]["code"], "payment_intent_authentication_failure");
    // The shopper's next card pays.
    let paid = confirm(&app, &payment, json!({ "clientSecret": secret, "card": card("4242424242424242") })).await;
    assert_eq!(paid.data(200)["status"], "captured");
}

#[tokio::test]
async fn a_return_without_kassa_s_own_proof_asks_nothing_of_stripe() {
    let mut app = TestApp::on_stripe().await;
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let proxy = watching_proxy(Arc::default(), "", seen.clone(), holding_none()).await;
    app.use_stripe_at(&proxy);
    let (payment, _, pending) = challenged(&app, 2100, "4000002760003184").await;
    let back = through_stripe_s_page(&app, pending["nextAction"]["url"].as_str().unwrap(), true).await;
    let (path, query) = back.split_once('?').unwrap();
    let without: Vec<&str> = query.split('&').filter(|p| !p.starts_with("kassa_return=")).collect();
    assert_eq!(without.len() + 1, query.split('&').count(), "the return carries Kassa's proof: {back}");
    let forged_proof = Keyring::random().mac("three-ds-return", payment.as_bytes());
    let asked_before = seen.lock().unwrap().len();
    // Stripe's own proof (the PaymentIntent's client secret) is there, but not Kassa's.
    for forged in [format!("{path}?{}", without.join("&")), format!("{path}?{}&kassa_return={forged_proof}", without.join("&"))] {
        assert_eq!(returned(&app, &forged).await.0, 404, "{forged}");
    }
    assert_eq!(seen.lock().unwrap().len(), asked_before, "nothing was asked of Stripe: {:?}", &seen.lock().unwrap()[asked_before..]);
    assert_eq!(app.intent(&payment).await["intent"]["status"], "requires_action");
    assert_eq!(returned(&app, &back).await, (200, "captured".to_owned()));
    assert!(seen.lock().unwrap().len() > asked_before, "the real return asks Stripe");
}

#[tokio::test]
async fn an_authorization_after_stripe_s_challenge_is_captured_later_and_a_decline_after_it_is_a_decline() {
    let app = TestApp::on_stripe().await;
    let created =
        app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 5000, "currency": "EUR", "captureMethod": "manual" })).await;
    let (payment, secret) = (id(created.data(201)), created.data(201)["clientSecret"].as_str().unwrap().to_owned());
    let pending = confirm(&app, &payment, json!({ "clientSecret": secret, "card": card("4000000000003220") })).await.data(200).clone();
    let back = through_stripe_s_page(&app, pending["nextAction"]["url"].as_str().unwrap(), true).await;
    assert_eq!(returned(&app, &back).await, (200, "authorized".to_owned()));
    assert_eq!(localstripe::payment_intent(&reference(&pending)).await["status"], "requires_capture");
    let captured = app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": payment, "amountCents": 4000 })).await;
    assert_eq!(captured.data(200)["capturedAmountCents"], 4000);
    assert_eq!(localstripe::payment_intent(&reference(&pending)).await["status"], "succeeded");

    // Stripe's card that passes the challenge and is then declined.
    let (payment, _, pending) = challenged(&app, 2100, "4000008260003178").await;
    let back = through_stripe_s_page(&app, pending["nextAction"]["url"].as_str().unwrap(), true).await;
    assert_eq!(returned(&app, &back).await, (200, "requires_payment_method".to_owned()));
    let after = app.intent(&payment).await;
    assert_eq!(after["intent"]["lastError"]["code"], "CARD_DECLINED");
    let passed = after["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == "three_ds" && t["status"] == "approved").count();
    assert_eq!(passed, 1, "the authentication passed: {}", after["transactions"]);
}

#[tokio::test]
async fn a_cardholder_who_never_comes_back_from_stripe_s_page_is_settled_by_stripe_s_event_or_the_challenge_address() {
    let app = TestApp::on_stripe().await;
    // Authenticated at Stripe; the window closed before Stripe could send the cardholder back.
    let (payment, _, pending) = challenged(&app, 3300, "4000002760003184").await;
    let path = pending["nextAction"]["url"].as_str().unwrap().to_owned();
    let stripe_page =
        app.send("GET", &path[path.find("/3ds").unwrap()..], None, &[], None).await.headers["location"].to_str().unwrap().to_owned();
    localstripe::answer_challenge(&stripe_page, true).await;
    assert_eq!(app.intent(&payment).await["intent"]["status"], "requires_action");
    let pi = localstripe::payment_intent(&reference(&pending)).await;
    assert_eq!(pi["status"], "succeeded", "Stripe charged");
    let event = json!({ "id": "evt_kassa_3ds_1", "object": "event", "type": "payment_intent.succeeded", "data": { "object": pi } });
    let applied = app.stripe_event(&event).await;
    assert_eq!(applied.json["applied"], "settled", "{}", applied.json);
    let after = app.intent(&payment).await;
    assert_eq!(after["intent"]["status"], "captured");
    assert_eq!(after["intent"]["capturedAmountCents"], 3300);
    assert_eq!(app.stripe_event(&event).await.json["applied"], "replayed");

    // Another one, whose checkout opens the challenge address again (a reload): Kassa asks Stripe,
    // and records the failed authentication instead of sending the cardholder back to a page
    // that is over.
    let (payment, _, pending) = challenged(&app, 1200, "4000002760003184").await;
    let path = pending["nextAction"]["url"].as_str().unwrap().to_owned();
    let path = &path[path.find("/3ds").unwrap()..];
    let stripe_page = app.send("GET", path, None, &[], None).await.headers["location"].to_str().unwrap().to_owned();
    localstripe::answer_challenge(&stripe_page, false).await;
    let again = app.send("GET", path, None, &[], None).await;
    assert_eq!(again.status, 200);
    assert!(String::from_utf8_lossy(&again.bytes).contains("data-status=\"requires_payment_method\""));
    assert_eq!(app.intent(&payment).await["intent"]["lastError"]["declineCode"], "authentication_failed");
}

#[tokio::test]
async fn a_failed_payment_is_retried_with_another_card_as_a_new_payment_intent() {
    let app = TestApp::on_stripe().await;
    let declined = app.sale("4000000000000341", 2500).await;
    let failed = declined.error(402, "CARD_DECLINED")["details"]["paymentIntentId"].as_str().unwrap().to_owned();
    let retried = app.post(&format!("/api/v1/payments/failed/{failed}/retry"), app.sk(), json!({ "card": card("4242424242424242") })).await;
    let data = retried.data(201).clone();
    assert_eq!(data["status"], "captured");
    assert_eq!(data["metadata"]["retryOf"], failed.as_str());
    assert_eq!(app.intent(&failed).await["intent"]["status"], "resolved");
    assert_eq!(localstripe::payment_intent(&reference(&data)).await["status"], "succeeded");
    assert_eq!(localstripe::payment_intents_of(&failed).await[0]["status"], "requires_payment_method");
}

#[tokio::test]
async fn racing_confirms_and_refunds_reach_stripe_only_as_often_as_the_books_allow() {
    let app = Arc::new(TestApp::on_stripe().await);
    // Two confirmations of one intent under different idempotency keys: one charge.
    let (payment, secret) = browser_intent(&app, 700).await;
    let body = json!({ "clientSecret": secret, "card": card("4242424242424242") });
    let (a, b) = tokio::join!(confirm(&app, &payment, body.clone()), confirm(&app, &payment, body.clone()));
    let statuses = [a.status.as_u16(), b.status.as_u16()];
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}: {} / {}", a.json, b.json);
    let at_stripe = localstripe::payment_intents_of(&payment).await;
    assert_eq!(at_stripe.iter().filter(|pi| pi["status"] == "succeeded").count(), 1, "one charge at Stripe");
    assert_eq!(at_stripe.len(), 1, "the losing confirmation never reached Stripe");

    // Ten refunds of 300 against 1000 captured: three fit.
    let sale = app.sale("4242424242424242", 1000).await.data(201).clone();
    let refunds = (0..10).map(|i| {
        let (app, sale) = (app.clone(), id(&sale));
        tokio::spawn(async move {
            app.post_with_key(
                "/api/v1/payments/refund",
                app.sk(),
                &format!("refund-{i}"),
                json!({ "paymentIntentId": sale, "amountCents": 300 }),
            )
            .await
            .status
            .as_u16()
        })
    });
    let mut ok = 0;
    for refund in refunds {
        if refund.await.unwrap() == 200 {
            ok += 1;
        }
    }
    let books = app.intent(&id(&sale)).await;
    let refunded = books["intent"]["refundedAmountCents"].as_i64().unwrap();
    assert_eq!(refunded, ok * 300);
    assert!(ok <= 3, "{ok} refunds of 300 passed on 1000");
    let at_stripe = localstripe::refunds_of(&reference(&sale)).await;
    assert_eq!(at_stripe.len() as i64, ok, "Stripe refunded exactly what the books say");
    assert_eq!(at_stripe.iter().map(|r| r["amount"].as_i64().unwrap()).sum::<i64>(), refunded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_returns_reopenings_and_events_for_one_challenge_record_it_once_and_stripe_charges_once() {
    let app = Arc::new(TestApp::on_stripe().await);
    let (payment, _, pending) = challenged(&app, 2600, "4000002760003184").await;
    let challenge = pending["nextAction"]["url"].as_str().unwrap().to_owned();
    let challenge = challenge[challenge.find("/3ds").unwrap()..].to_owned();
    let back = through_stripe_s_page(&app, &challenge, true).await;
    let pi = localstripe::payment_intent(&reference(&pending)).await;

    // Six returns, two reopenings of the challenge address and two Stripe events, all at once.
    let mut pages = Vec::new();
    for i in 0..8 {
        let (app, path) = (app.clone(), if i < 6 { back.clone() } else { challenge.clone() });
        pages.push(tokio::spawn(async move { returned(&app, &path).await }));
    }
    let mut events = Vec::new();
    for i in 0..2 {
        let app = app.clone();
        let event =
            json!({ "id": format!("evt_kassa_race_{i}"), "object": "event", "type": "payment_intent.succeeded", "data": { "object": pi } });
        events.push(tokio::spawn(async move { app.stripe_event(&event).await.json["applied"].as_str().unwrap_or_default().to_owned() }));
    }
    for page in pages {
        assert_eq!(page.await.unwrap(), (200, "captured".to_owned()), "every window shows the one outcome");
    }
    for event in events {
        let applied = event.await.unwrap();
        assert!(["settled", "already_recorded"].contains(&applied.as_str()), "{applied}");
    }

    let books = app.intent(&payment).await;
    assert_eq!(books["intent"]["status"], "captured");
    let count = |kind: &str, status: &str| {
        books["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == kind && t["status"] == status).count()
    };
    assert_eq!(
        (count("three_ds", "approved"), count("authorize", "approved"), count("capture", "approved")),
        (1, 1, 1),
        "{}",
        books["transactions"]
    );
    let events = app.get("/api/v1/events?limit=100", app.sk()).await;
    let succeeded = events.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "payment_intent.succeeded" && e["data"]["object"]["id"] == payment.as_str())
        .count();
    assert_eq!(succeeded, 1, "the shop hears of the payment once");
    // What reached the card: one PaymentIntent, one charge.
    assert_eq!(localstripe::payment_intents_of(&payment).await.len(), 1);
    let charges = localstripe::charges_of(&reference(&pending)).await;
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(charges[0]["amount"], 2600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_refund_failure_told_three_times_while_new_refunds_race_is_taken_back_once_and_the_books_match_stripe() {
    let app = Arc::new(TestApp::on_stripe().await);
    let sale = app.sale("4242424242424242", 2000).await.data(201).clone();
    for i in 0..2 {
        let refunded = app
            .post_with_key(
                "/api/v1/payments/refund",
                app.sk(),
                &format!("first-{i}"),
                json!({ "paymentIntentId": id(&sale), "amountCents": 500 }),
            )
            .await;
        refunded.data(200);
    }
    let mut failed = localstripe::refunds_of(&reference(&sale)).await[0].clone();
    failed["status"] = json!("failed");
    failed["failure_reason"] = json!("expired_or_canceled_card");

    // Stripe tells the failure in three events while four refunds of 500 race, each under its own
    // key: 1000 is refundable before the failure is taken back, 1500 after.
    let mut events = Vec::new();
    for (i, kind) in ["refund.failed", "refund.updated", "charge.refund.updated"].into_iter().enumerate() {
        let app = app.clone();
        let event = json!({ "id": format!("evt_kassa_late_{i}"), "object": "event", "type": kind, "data": { "object": failed } });
        events.push(tokio::spawn(async move { app.stripe_event(&event).await.json["applied"].as_str().unwrap_or_default().to_owned() }));
    }
    let mut refunds = Vec::new();
    for i in 0..4 {
        let (app, payment) = (app.clone(), id(&sale));
        refunds.push(tokio::spawn(async move {
            app.post_with_key(
                "/api/v1/payments/refund",
                app.sk(),
                &format!("race-{i}"),
                json!({ "paymentIntentId": payment, "amountCents": 500 }),
            )
            .await
            .status
            .as_u16()
        }));
    }
    let mut applied = Vec::new();
    for event in events {
        applied.push(event.await.unwrap());
    }
    applied.sort();
    assert_eq!(applied, ["already_recorded", "already_recorded", "refund_failed"], "taken back once");
    let mut passed = 0;
    for refund in refunds {
        if refund.await.unwrap() == 200 {
            passed += 1;
        }
    }
    assert!((2..=3).contains(&passed), "{passed} refunds of 500 passed");

    let books = app.intent(&id(&sale)).await;
    let refunded = books["intent"]["refundedAmountCents"].as_i64().unwrap();
    assert_eq!(refunded, 1000 - 500 + passed * 500);
    let failures =
        books["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == "refund" && t["responseCode"] == "refund_failed").count();
    assert_eq!(failures, 1);
    // At Stripe: every refund Kassa asked for, and the books are what Stripe returned less the one
    // that failed.
    let at_stripe = localstripe::refunds_of(&reference(&sale)).await;
    assert_eq!(at_stripe.len() as i64, 2 + passed, "only the refunds that passed reached Stripe");
    assert_eq!(at_stripe.iter().map(|r| r["amount"].as_i64().unwrap()).sum::<i64>() - 500, refunded);
}

/// A proxy in front of localstripe that passes every request on, and for requests whose path
/// ends with `drop_suffix` (while `dropping` is set) lets the request through and loses the
/// answer, as a network does.
async fn lossy_proxy(dropping: Arc<AtomicBool>, drop_suffix: &'static str) -> String {
    watching_proxy(dropping, drop_suffix, Arc::default(), holding_none()).await
}

/// Which requests a proxy holds: never passed on, never answered, as a processor that hangs or a
/// network that fails on the way there.
type Holds = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Holds no request.
fn holding_none() -> Holds {
    Arc::new(|_| false)
}

/// [`lossy_proxy`], which also writes down each request's method, path and secret key (as
/// `POST /v1/refunds sk_test_…`) in `seen`, and holds each request whose path `holds` names.
async fn watching_proxy(
    dropping: Arc<AtomicBool>,
    drop_suffix: &'static str,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
    holds: Holds,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { return };
            let (dropping, seen, holds) = (dropping.clone(), seen.clone(), holds.clone());
            tokio::spawn(async move {
                // One request per connection: read the head and the body it announces.
                let mut request = Vec::new();
                let mut buf = [0u8; 8192];
                let head_end = loop {
                    let Ok(n) = client.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break end + 4;
                    }
                };
                let head = String::from_utf8_lossy(&request[..head_end]).to_string();
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                    .unwrap_or(0);
                while request.len() < head_end + length {
                    let Ok(n) = client.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                let path = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
                let key = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().starts_with("authorization: bearer ").then(|| l[22..].trim().to_owned()));
                let asked = head.split_whitespace().take(2).chain(key.as_deref()).collect::<Vec<_>>().join(" ");
                seen.lock().unwrap().push(asked);
                if holds(&path) {
                    let _held = client;
                    return std::future::pending().await;
                }
                let closed = head.replacen("\r\n", "\r\nConnection: close\r\n", 1);
                let mut upstream = TcpStream::connect(localstripe::addr()).await.unwrap();
                upstream.write_all(closed.as_bytes()).await.unwrap();
                upstream.write_all(&request[head_end..]).await.unwrap();
                let mut response = Vec::new();
                let _ = upstream.read_to_end(&mut response).await;
                if dropping.load(Ordering::SeqCst) && path.split('?').next().unwrap_or_default().ends_with(drop_suffix) {
                    return; // the answer is lost
                }
                let _ = client.write_all(&response).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_lost_answer_is_provider_timeout_and_the_reconciler_or_stripe_s_webhook_settles_it_once() {
    let mut app = TestApp::on_stripe().await;
    let dropping = Arc::new(AtomicBool::new(true));
    let proxy = lossy_proxy(dropping.clone(), "/confirm").await;
    app.state.processor_timeout = Duration::from_secs(5);
    app.use_stripe_at(&proxy);

    // The confirmation reached Stripe and charged; its answer never came back.
    let lost = app.sale("4242424242424242", 1100).await;
    let payment = lost.error(504, "PROVIDER_TIMEOUT")["details"]["paymentIntentId"].as_str().unwrap().to_owned();
    let open = app.intent(&payment).await;
    assert_eq!(open["intent"]["status"], "processing");
    let pi_id = reference(&open["intent"]);
    assert_eq!(localstripe::payment_intent(&pi_id).await["status"], "succeeded");

    // The reconciler looks the PaymentIntent up at Stripe and records the charge.
    dropping.store(false, Ordering::SeqCst);
    let settled = kassa_server::payments::reconcile(&app.state, Duration::ZERO).await.unwrap();
    assert_eq!(settled, 1);
    let after = app.intent(&payment).await;
    assert_eq!(after["intent"]["status"], "captured");
    assert_eq!(after["intent"]["capturedAmountCents"], 1100);

    // Another lost answer, settled this time by Stripe's webhook.
    dropping.store(true, Ordering::SeqCst);
    let lost = app.sale("4242424242424242", 1300).await;
    let payment = lost.error(504, "PROVIDER_TIMEOUT")["details"]["paymentIntentId"].as_str().unwrap().to_owned();
    let pi_id = reference(&app.intent(&payment).await["intent"]);
    let event = json!({ "id": "evt_kassa_test_1", "object": "event", "type": "payment_intent.succeeded",
                        "data": { "object": localstripe::payment_intent(&pi_id).await } });
    let body = event.to_string();
    let path = format!("/processor-webhooks/stripe/{}", app.merchant.merchant_id);
    let send = |body: String, signature: String| {
        let path = path.clone();
        let app = &app;
        async move { app.send("POST", &path, None, &[("stripe-signature", signature.as_str())], Some(body.into_bytes())).await }
    };
    let now = || kassa_server::clock::now_ms() / 1000;
    // A forged or stale signature changes nothing.
    let forged = send(body.clone(), kassa::webhook::sign(body.as_bytes(), "whsec_someone_else", now())).await;
    forged.error(400, "VALIDATION_ERROR");
    let stale = send(body.clone(), kassa::webhook::sign(body.as_bytes(), STRIPE_WEBHOOK_SECRET, now() - 3600)).await;
    stale.error(400, "VALIDATION_ERROR");
    assert_eq!(app.intent(&payment).await["intent"]["status"], "processing");

    let applied = send(body.clone(), kassa::webhook::sign(body.as_bytes(), STRIPE_WEBHOOK_SECRET, now())).await;
    assert_eq!(applied.status, 200, "{}", applied.json);
    assert_eq!(applied.json["applied"], "settled");
    let after = app.intent(&payment).await;
    assert_eq!(after["intent"]["status"], "captured");
    let captures = after["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == "capture").count();
    assert_eq!(captures, 1);

    // A replay, and the reconciler after it, change nothing.
    let replay = send(body.clone(), kassa::webhook::sign(body.as_bytes(), STRIPE_WEBHOOK_SECRET, now())).await;
    assert_eq!(replay.json["applied"], "replayed");
    assert_eq!(kassa_server::payments::reconcile(&app.state, Duration::ZERO).await.unwrap(), 0);
    let again = app.intent(&payment).await;
    assert_eq!(again["transactions"].as_array().unwrap().len(), after["transactions"].as_array().unwrap().len());
    assert_eq!(localstripe::payment_intents_of(&payment).await.len(), 1);
}

#[tokio::test]
async fn a_retried_sale_whose_confirmation_never_reached_stripe_is_paid_once_as_the_same_payment() {
    let mut app = TestApp::on_stripe().await;
    let holding = Arc::new(AtomicBool::new(true));
    let held = holding.clone();
    let holds: Holds = Arc::new(move |path: &str| held.load(Ordering::SeqCst) && path.ends_with("/confirm"));
    let proxy = watching_proxy(Arc::default(), "", Arc::default(), holds).await;
    app.state.processor_timeout = Duration::from_secs(2);
    app.use_stripe_at(&proxy);
    let sale = json!({ "amountCents": 1_700, "currency": "USD", "card": card("4242424242424242") });

    // The PaymentIntent is opened; its confirmation never gets to Stripe.
    let first = app.post_with_key("/api/v1/payments/sale", app.sk(), "sale-held", sale.clone()).await;
    let payment = first.error(504, "PROVIDER_TIMEOUT")["details"]["paymentIntentId"].as_str().unwrap().to_owned();
    let opened = localstripe::payment_intents_of(&payment).await;
    assert_eq!(opened.len(), 1);
    assert_ne!(opened[0]["status"], "succeeded");
    // The reconciler finds it never confirmed: the payment failed, and nothing was charged.
    holding.store(false, Ordering::SeqCst);
    assert_eq!(kassa_server::payments::reconcile(&app.state, Duration::ZERO).await.unwrap(), 1);
    assert_eq!(app.intent(&payment).await["intent"]["status"], "error");
    assert!(localstripe::charges_of(opened[0]["id"].as_str().unwrap()).await.is_empty());

    // The retry of the key confirms it, as the same payment, and Stripe charges once.
    let retry = app.post_with_key("/api/v1/payments/sale", app.sk(), "sale-held", sale.clone()).await;
    assert_eq!(retry.data(201)["id"], payment.as_str());
    assert_eq!(retry.data(201)["status"], "captured");
    let replay = app.post_with_key("/api/v1/payments/sale", app.sk(), "sale-held", sale).await;
    assert_eq!(replay.bytes, retry.bytes);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    let at_stripe = localstripe::payment_intents_of(&payment).await;
    assert_eq!(at_stripe.len(), 1, "the retry confirms the PaymentIntent the first try opened: {at_stripe:?}");
    let succeeded: Vec<&Value> = at_stripe.iter().filter(|pi| pi["status"] == "succeeded").collect();
    assert_eq!(succeeded.len(), 1, "{at_stripe:?}");
    assert_eq!(succeeded[0]["amount"], 1_700);
    let charges: usize = futures_util::future::join_all(at_stripe.iter().map(|pi| localstripe::charges_of(pi["id"].as_str().unwrap())))
        .await
        .iter()
        .map(Vec::len)
        .sum();
    assert_eq!(charges, 1);
    assert_eq!(reference(&app.intent(&payment).await["intent"]), succeeded[0]["id"].as_str().unwrap());
}

#[tokio::test]
async fn the_processor_route_keeps_secrets_sealed_and_checks_them_with_stripe() {
    let app = TestApp::on_stripe().await;
    let shown = app.get("/api/v1/processor", app.sk()).await;
    let data = shown.data(200);
    assert_eq!(data["processor"], "stripe");
    assert_eq!(data["secretKeyHint"], "sk_test_…ripe");
    assert_eq!(data["webhookSecretSet"], true);
    assert!(!shown.json.to_string().contains(localstripe::SECRET_KEY));
    // The key is sealed at rest.
    for (table, column, value) in app.db.stored_values().await {
        assert!(!value.contains(localstripe::SECRET_KEY), "{table}.{column} holds the Stripe key");
        assert!(!value.contains(STRIPE_WEBHOOK_SECRET), "{table}.{column} holds the webhook secret");
    }
    // Bad input is refused and changes nothing.
    app.post("/api/v1/processor", app.sk(), json!({ "processor": "stripe" })).await.error(400, "VALIDATION_ERROR");
    app.post("/api/v1/processor", app.sk(), json!({ "processor": "stripe", "secretKey": "pk_test_123" }))
        .await
        .error(400, "VALIDATION_ERROR");
    // A key that cannot go in a header is no key: refused, not a processor error at Stripe's door.
    let unsendable = app.post("/api/v1/processor", app.sk(), json!({ "processor": "stripe", "secretKey": "sk_test_\u{1}" })).await;
    assert_eq!(unsendable.error(400, "VALIDATION_ERROR")["details"]["field"], "secretKey");
    app.post("/api/v1/processor", app.sk(), json!({ "processor": "sandbox", "secretKey": "sk_test_1" }))
        .await
        .error(400, "VALIDATION_ERROR");
    app.post("/api/v1/processor", app.pk(), json!({ "processor": "sandbox" })).await.error(403, "FORBIDDEN");
    assert_eq!(app.get("/api/v1/processor", app.sk()).await.data(200)["processor"], "stripe");

    // Back to the sandbox: its test cards behave as the sandbox's again.
    let back = app.post("/api/v1/processor", app.sk(), json!({ "processor": "sandbox" })).await;
    assert_eq!(back.data(200)["processor"], "sandbox");
    let declined = app.sale("4000000000009995", 500).await;
    assert_eq!(declined.error(402, "CARD_DECLINED")["details"]["declineCode"], "insufficient_funds");

    // A sandbox payment stays with the sandbox after the merchant moves to Stripe.
    let held = app.authorized(800).await;
    let moved = app.post("/api/v1/processor", app.sk(), json!({ "processor": "stripe", "secretKey": localstripe::SECRET_KEY })).await;
    assert_eq!(moved.data(200)["webhookSecretSet"], false);
    let captured = app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": held })).await;
    assert_eq!(captured.data(200)["status"], "captured");
    assert_eq!(app.processor.effects_of("capture").len(), 1, "the sandbox captured it");
    assert!(localstripe::payment_intents_of(&held).await.is_empty(), "Stripe never heard of it");
    // And new payments go to Stripe.
    let sale = app.sale("4242424242424242", 600).await;
    assert!(reference(sale.data(201)).starts_with("pi_"));
}

#[tokio::test]
async fn a_merchant_made_on_the_command_line_pays_through_stripe_and_no_card_number_or_cvc_is_kept_or_logged() {
    let url = tokio::task::spawn_blocking(localstripe::url).await.unwrap();
    let db = TestDb::new().await;
    let merchant = create_merchant_with(
        &db,
        "Stripe Shop",
        &["--processor", "stripe", "--processor-secret", localstripe::SECRET_KEY, "--processor-webhook-secret", STRIPE_WEBHOOK_SECRET],
    );
    let sk = merchant["secretKey"].as_str().unwrap();
    let log = db.dir.path().join("server.log");
    let mut server = ServerProcess::start_with(&db, &["--stripe-api-base", url], &[("KASSA_LOG", "debug")], Some(&log));
    let numbers = ["4242424242424242", "4000000000000341", "5555555555554444"];
    let with_cvc = |number: &str| json!({ "number": number, "expMonth": 11, "expYear": 2033, "cvc": "739", "postalCode": "10115" });

    let (status, sale) = request(
        &server.addr,
        "POST",
        "/api/v1/payments/sale",
        sk,
        Some(&json!({ "amountCents": 990, "currency": "USD", "card": with_cvc(numbers[0]) })),
    )
    .await;
    assert_eq!(status, 201, "{sale}");
    assert_eq!(localstripe::payment_intent(&reference(&sale["data"])).await["status"], "succeeded");
    let (status, declined) = request(
        &server.addr,
        "POST",
        "/api/v1/payments/sale",
        sk,
        Some(&json!({ "amountCents": 990, "currency": "USD", "card": with_cvc(numbers[1]) })),
    )
    .await;
    assert_eq!((status, declined["error"]["code"].as_str()), (402, Some("CARD_DECLINED")));
    let (status, token) = request(
        &server.addr,
        "POST",
        "/api/v1/payment-methods",
        merchant["publishableKey"].as_str().unwrap(),
        Some(&json!({ "card": with_cvc(numbers[2]) })),
    )
    .await;
    assert_eq!(status, 201, "{token}");
    assert_eq!(token["data"]["card"]["last4"], "4444");
    server.stop().await;

    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("/api/v1/payments/sale"), "the log is the server's");
    for (table, column, value) in db.stored_values().await {
        for number in numbers {
            assert!(!value.contains(number), "{table}.{column} holds a card number");
            assert!(!logged.contains(number), "the log holds a card number");
        }
        assert!(!value.contains("\"739\"") && !value.contains("cvc"), "{table}.{column} holds a CVC: {value}");
    }
    // A three-digit CVC also turns up by chance inside timestamps and timings
    // (`elapsed=739.331µs`), so those are set aside and the CVC is looked for as a value.
    let as_value = ["=739", "\"739\"", ":739", "739&", "'739'"];
    let line = logged.lines().find(|line| {
        let words = line.split_whitespace().skip(1).filter(|word| !is_timing(word)).collect::<Vec<_>>().join(" ");
        as_value.iter().any(|v| words.contains(v)) || words.to_ascii_lowercase().contains("cvc")
    });
    assert!(line.is_none(), "the log holds a CVC: {line:?}");
}

/// A log field that measures time, such as sqlx's `elapsed=…` or tower-http's `latency=…`.
fn is_timing(word: &str) -> bool {
    let key = word.split('=').next().unwrap_or_default();
    word.contains('=') && (key.starts_with("elapsed") || key == "latency" || key.starts_with("time."))
}

#[tokio::test]
async fn a_rotated_encryption_key_seals_the_stripe_key_again_so_the_old_one_can_go() {
    let url = tokio::task::spawn_blocking(localstripe::url).await.unwrap();
    let db = TestDb::new().await;
    let merchant = create_merchant_with(&db, "Rotating Shop", &["--processor", "stripe", "--processor-secret", localstripe::SECRET_KEY]);
    let sk = merchant["secretKey"].as_str().unwrap();
    let old = std::fs::read_to_string(db.dir.path().join("kassa.key")).unwrap();
    let old = old.trim().to_owned();
    let new = "ab".repeat(32);
    let sale = json!({ "amountCents": 450, "currency": "USD", "card": card("4242424242424242") });
    // New key first, the old one after it: the server seals again under the new one.
    let both = format!("{new},{old}");
    let mut server = ServerProcess::start_with(&db, &["--stripe-api-base", url], &[("KASSA_ENCRYPTION_KEY", both.as_str())], None);
    assert_eq!(request(&server.addr, "POST", "/api/v1/payments/sale", sk, Some(&sale)).await.0, 201);
    server.stop().await;
    // Then the old key is dropped, and Stripe payments go on.
    let mut server = ServerProcess::start_with(&db, &["--stripe-api-base", url], &[("KASSA_ENCRYPTION_KEY", new.as_str())], None);
    let (status, paid) = request(&server.addr, "POST", "/api/v1/payments/sale", sk, Some(&sale)).await;
    assert_eq!(status, 201, "{paid}");
    assert!(reference(&paid["data"]).starts_with("pi_"));
    server.stop().await;
}

#[tokio::test]
async fn a_refund_left_pending_is_settled_by_stripe_s_refund_failed_event_and_the_books_keep_the_money() {
    let mut app = TestApp::on_stripe().await;
    let sale = app.sale("4242424242424242", 2000).await.data(201).clone();
    let dropping = Arc::new(AtomicBool::new(true));
    let proxy = lossy_proxy(dropping.clone(), "/v1/refunds").await;
    app.use_stripe_at(&proxy);

    let lost = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id(&sale), "amountCents": 700 })).await;
    lost.error(504, "PROVIDER_TIMEOUT");
    dropping.store(false, Ordering::SeqCst);
    let refunds = localstripe::refunds_of(&reference(&sale)).await;
    assert_eq!(refunds.len(), 1);
    // Stripe could not return the money after all (localstripe's refunds always succeed, so the
    // event says what Stripe would).
    let mut refund = refunds[0].clone();
    refund["status"] = json!("failed");
    refund["failure_reason"] = json!("expired_or_canceled_card");
    let event = json!({ "id": "evt_kassa_refund_failed", "object": "event", "type": "refund.updated", "data": { "object": refund } });
    let applied = app.stripe_event(&event).await;
    assert_eq!(applied.json["applied"], "settled", "{}", applied.json);

    let books = app.intent(&id(&sale)).await;
    assert_eq!(books["intent"]["status"], "captured");
    assert_eq!(books["intent"]["refundedAmountCents"], 0);
    let failed = books["transactions"].as_array().unwrap().iter().find(|t| t["type"] == "refund").unwrap().clone();
    assert_ne!(failed["status"], "approved");
    // The 700 can be refunded again, and the replayed event changes nothing.
    let replay = app.stripe_event(&event).await;
    assert_eq!(replay.json["applied"], "replayed");
    assert_eq!(
        app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id(&sale), "amountCents": 700 })).await.data(200)
            ["refundedAmountCents"],
        700
    );
    // Stripe tells the same failure again in another event: the refund that failed was never on
    // the books, so the one that succeeded since stays there.
    let told_again =
        json!({ "id": "evt_kassa_refund_failed_again", "object": "event", "type": "refund.failed", "data": { "object": refund } });
    assert_eq!(app.stripe_event(&told_again).await.json["applied"], "already_recorded");
    assert_eq!(app.intent(&id(&sale)).await["intent"]["refundedAmountCents"], 700);
}

#[tokio::test]
async fn a_refund_stripe_fails_after_accepting_it_is_taken_back_once_and_the_shop_hears_of_it() {
    let app = TestApp::on_stripe().await;
    let order = app
        .post(
            "/api/v1/orders",
            app.sk(),
            json!({ "currency": "USD", "lineItems": [{ "name": "Lamp", "unitAmountCents": 2000, "quantity": 1 }] }),
        )
        .await;
    let order_id = id(order.data(201));
    let sale = app
        .post(
            "/api/v1/payments/sale",
            app.sk(),
            json!({ "amountCents": 2000, "currency": "USD", "orderId": order_id, "card": card("4242424242424242") }),
        )
        .await;
    let sale = sale.data(201).clone();
    let refunded = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id(&sale), "amountCents": 500 })).await;
    assert_eq!(refunded.data(200)["refundedAmountCents"], 500);
    let order_now = || async { app.get(&format!("/api/v1/orders/{order_id}"), app.sk()).await.data(200).clone() };
    assert_eq!(order_now().await["balanceCents"], 500);

    // Stripe accepted the refund, and failed it later (localstripe's refunds always succeed, so
    // the events say what Stripe would). It tells in more than one event.
    let mut refund = localstripe::refunds_of(&reference(&sale)).await[0].clone();
    assert_eq!(refund["status"], "succeeded");
    refund["status"] = json!("failed");
    refund["failure_reason"] = json!("expired_or_canceled_card");
    let failed = json!({ "id": "evt_kassa_refund_failed_late", "object": "event", "type": "refund.failed", "data": { "object": refund } });
    let applied = app.stripe_event(&failed).await;
    assert_eq!(applied.json["applied"], "refund_failed", "{}", applied.json);
    let updated =
        json!({ "id": "evt_kassa_refund_updated_late", "object": "event", "type": "refund.updated", "data": { "object": refund } });
    assert_eq!(app.stripe_event(&updated).await.json["applied"], "already_recorded");
    assert_eq!(app.stripe_event(&failed).await.json["applied"], "replayed");

    let books = app.intent(&id(&sale)).await;
    assert_eq!(books["intent"]["status"], "captured");
    assert_eq!(books["intent"]["refundedAmountCents"], 0, "taken back once");
    let refunds: Vec<&Value> = books["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == "refund").collect();
    assert_eq!(refunds.len(), 2, "the refund, and its failure: {refunds:?}");
    assert!(refunds.iter().all(|t| t["providerReference"] == refund["id"]));
    assert!(refunds.iter().any(|t| t["status"] != "approved" && t["responseText"] == "expired_or_canceled_card"), "{refunds:?}");
    // The order's ledger follows: its refund is reversed, and the order is paid again.
    let order = order_now().await;
    assert_eq!((order["status"].as_str(), order["balanceCents"].as_i64()), (Some("paid"), Some(0)), "{order}");
    let ledger_refund = order["payments"].as_array().unwrap().iter().find(|p| p["type"] == "refund").unwrap().clone();
    assert_eq!(ledger_refund["status"], "reversed");
    // The shop hears of it.
    let events = app.get("/api/v1/events?limit=100", app.sk()).await;
    let kinds: Vec<&str> = events.json["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "charge.refund.failed").count(), 1, "{kinds:?}");

    // The money can be refunded again, and that refund reaches Stripe.
    let again = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id(&sale), "amountCents": 500 })).await;
    assert_eq!(again.data(200)["refundedAmountCents"], 500);
    assert_eq!(localstripe::refunds_of(&reference(&sale)).await.len(), 2);
}

#[tokio::test]
async fn a_failed_refund_event_takes_back_that_refund_s_own_amount_whatever_it_names() {
    let app = TestApp::on_stripe().await;
    let sale = app
        .post("/api/v1/payments/sale", app.sk(), json!({ "amountCents": 2000, "currency": "USD", "card": card("4242424242424242") }))
        .await;
    let sale = id(sale.data(201));
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": sale, "amountCents": 500 })).await.data(200);
    let both = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": sale, "amountCents": 800 })).await;
    assert_eq!(both.data(200)["refundedAmountCents"], 1300);
    let reference = app.intent(&sale).await["intent"]["providerReference"].as_str().unwrap().to_owned();
    let mut refund = localstripe::refunds_of(&reference).await.into_iter().find(|r| r["amount"] == 500).expect("the 500 refund at Stripe");
    // The event says the failed refund was 1200: more than it was, and less than both together.
    refund["status"] = json!("failed");
    refund["amount"] = json!(1200);
    let failed =
        json!({ "id": "evt_kassa_refund_failed_inflated", "object": "event", "type": "refund.failed", "data": { "object": refund } });
    assert_eq!(app.stripe_event(&failed).await.json["applied"], "refund_failed");
    let books = app.intent(&sale).await;
    assert_eq!(books["intent"]["refundedAmountCents"], 800, "only the 500 refund is taken back");
    let taken_back = books["transactions"].as_array().unwrap().iter().find(|t| t["responseCode"] == "refund_failed").unwrap().clone();
    assert_eq!(taken_back["amountCents"], 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgresql_reach_stripe_only_as_often_as_the_books_allow() {
    let url = tokio::task::spawn_blocking(localstripe::url).await.unwrap();
    let db = TestDb::postgres().await;
    let merchant = create_merchant_with(
        &db,
        "Two Servers",
        &["--processor", "stripe", "--processor-secret", localstripe::SECRET_KEY, "--processor-webhook-secret", STRIPE_WEBHOOK_SECRET],
    );
    let sk = merchant["secretKey"].as_str().unwrap().to_owned();
    let args = ["--stripe-api-base", url, "--publishable-rate-limit", "0", "--card-attempt-rate-limit", "0"];
    let servers = [ServerProcess::start(&db, &args), ServerProcess::start(&db, &args)];
    let addrs: Vec<String> = servers.iter().map(|s| s.addr.clone()).collect();
    let race = |path: String, body: Value, count: usize, expect: u16| {
        let (addrs, sk) = (addrs.clone(), sk.clone());
        async move {
            let calls = (0..count).map(|i| {
                let (addr, sk, path, body) = (addrs[i % 2].clone(), sk.clone(), path.clone(), body.clone());
                tokio::spawn(async move {
                    let key = format!("race-{i}-{}", rand::random::<u64>());
                    try_request(&addr, "POST", &path, &sk, &[("idempotency-key", key.as_str())], Some(&body)).await.unwrap().0
                })
            });
            let mut passed = 0;
            for call in calls {
                if call.await.unwrap() == expect {
                    passed += 1;
                }
            }
            passed
        }
    };

    // Six confirmations of one intent, alternating servers, each under its own key: one charge.
    let (status, created) =
        request(&addrs[0], "POST", "/api/v1/payments/intents", &sk, Some(&json!({ "amountCents": 640, "currency": "USD" }))).await;
    assert_eq!(status, 201);
    let payment = id(&created["data"]);
    let confirmed = race(format!("/api/v1/payments/intents/{payment}/confirm"), json!({ "card": card("4242424242424242") }), 6, 200).await;
    assert_eq!(confirmed, 1);
    let at_stripe = localstripe::payment_intents_of(&payment).await;
    assert_eq!(at_stripe.len(), 1, "the losing confirmations never reached Stripe");
    assert_eq!(at_stripe[0]["status"], "succeeded");

    // Ten refunds of 300 on 1000 across both servers: Stripe refunds exactly what the books say.
    let (status, sale) = request(
        &addrs[1],
        "POST",
        "/api/v1/payments/sale",
        &sk,
        Some(&json!({ "amountCents": 1000, "currency": "USD", "card": card("4242424242424242") })),
    )
    .await;
    assert_eq!(status, 201, "{sale}");
    let sale = sale["data"].clone();
    let refunded_ok = race("/api/v1/payments/refund".into(), json!({ "paymentIntentId": id(&sale), "amountCents": 300 }), 10, 200).await;
    assert!((1..=3).contains(&refunded_ok), "{refunded_ok} refunds of 300 passed on 1000");
    let (_, books) = request(&addrs[0], "GET", &format!("/api/v1/payments/transactions/{}", id(&sale)), &sk, None).await;
    let refunded = books["data"]["intent"]["refundedAmountCents"].as_i64().unwrap();
    assert_eq!(refunded, refunded_ok * 300);
    let refunds = localstripe::refunds_of(&reference(&sale)).await;
    assert_eq!(refunds.len() as i64, refunded_ok);
    assert_eq!(refunds.iter().map(|r| r["amount"].as_i64().unwrap()).sum::<i64>(), refunded);

    // A 3-D Secure payment answered on Stripe's page: six returns alternating servers and Stripe's
    // event at both, all at once. One authorization is recorded, and Stripe charged once.
    let (status, created) =
        request(&addrs[0], "POST", "/api/v1/payments/intents", &sk, Some(&json!({ "amountCents": 880, "currency": "EUR" }))).await;
    assert_eq!(status, 201);
    let payment = id(&created["data"]);
    let (status, pending) = request(
        &addrs[1],
        "POST",
        &format!("/api/v1/payments/intents/{payment}/confirm"),
        &sk,
        Some(&json!({ "card": card("4000002760003184") })),
    )
    .await;
    assert_eq!((status, pending["data"]["status"].as_str()), (200, Some("requires_action")), "{pending}");
    let pi = localstripe::payment_intent(&reference(&pending["data"])).await;
    let back = localstripe::answer_challenge(pi["next_action"]["redirect_to_url"]["url"].as_str().unwrap(), true).await;
    let back = back[back.find("/3ds").unwrap()..].to_owned();
    let pi = localstripe::payment_intent(&reference(&pending["data"])).await;
    let mut calls = Vec::new();
    for i in 0..8 {
        let (addr, back, pi, merchant_id) =
            (addrs[i % 2].clone(), back.clone(), pi.clone(), merchant["merchantId"].as_str().unwrap().to_owned());
        calls.push(tokio::spawn(async move {
            if i < 6 {
                try_request(&addr, "GET", &back, "", &[], None).await.unwrap().0
            } else {
                let event = json!({ "id": format!("evt_kassa_two_servers_{i}"), "object": "event", "type": "payment_intent.succeeded", "data": { "object": pi } });
                let signature = kassa::webhook::sign(event.to_string().as_bytes(), STRIPE_WEBHOOK_SECRET, kassa_server::clock::now_ms() / 1000);
                let path = format!("/processor-webhooks/stripe/{merchant_id}");
                try_request(&addr, "POST", &path, "", &[("stripe-signature", signature.as_str())], Some(&event)).await.unwrap().0
            }
        }));
    }
    for call in calls {
        assert_eq!(call.await.unwrap(), 200);
    }
    let (_, books) = request(&addrs[0], "GET", &format!("/api/v1/payments/transactions/{payment}"), &sk, None).await;
    assert_eq!(books["data"]["intent"]["status"], "captured");
    let count = |kind: &str| {
        books["data"]["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == kind && t["status"] == "approved").count()
    };
    assert_eq!((count("three_ds"), count("authorize"), count("capture")), (1, 1, 1), "{}", books["data"]["transactions"]);
    assert_eq!(localstripe::payment_intents_of(&payment).await.len(), 1);
    assert_eq!(localstripe::charges_of(pi["id"].as_str().unwrap()).await.len(), 1, "Stripe charged once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_whose_processor_hangs_holds_up_no_other_merchant_s_reconciliation() {
    let mut app = TestApp::on_stripe().await;
    // Stripe now takes cards and opens PaymentIntents, but never answers about one after that.
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let proxy = watching_proxy(Arc::default(), "", seen.clone(), Arc::new(|path: &str| path.starts_with("/v1/payment_intents/"))).await;
    let hung = || seen.lock().unwrap().iter().filter(|r| r.contains("/v1/payment_intents/")).count();
    // Time enough to open each PaymentIntent however busy the machine is; then Stripe hangs.
    app.state.processor_timeout = Duration::from_secs(2);
    app.use_stripe_at(&proxy);

    // 150 sales of the Stripe merchant are left pending, none answered.
    for _ in 0..5 {
        let sales = (0..30).map(|_| {
            app.post("/api/v1/payments/sale", app.sk(), json!({ "amountCents": 700, "currency": "USD", "card": card("4242424242424242") }))
        });
        for sale in futures_util::future::join_all(sales).await {
            let id = sale.error(504, "PROVIDER_TIMEOUT")["details"]["paymentIntentId"].as_str().unwrap().to_owned();
            assert!(app.intent(&id).await["intent"]["providerReference"].is_string(), "its PaymentIntent was opened");
        }
    }
    // Then another merchant's sale on the sandbox times out too, and waits for the reconciler.
    let other = app.other_merchant().await;
    let late = app
        .post(
            "/api/v1/payments/sale",
            &other.secret_key,
            json!({ "amountCents": 2500, "currency": "USD", "card": card("4000000000000408") }),
        )
        .await;
    let late = late.error(504, "PROVIDER_TIMEOUT")["details"]["paymentIntentId"].as_str().unwrap().to_owned();

    // One round settles it, and ends although every lookup of the first merchant hangs.
    app.state.processor_timeout = Duration::from_millis(300);
    app.state.reconcile_backoff = Arc::new(kassa_server::caches::Backoff::new(Duration::from_secs(60)));
    let round = tokio::time::timeout(Duration::from_secs(20), kassa_server::payments::reconcile(&app.state, Duration::ZERO)).await;
    assert_eq!(round.expect("a round ends whatever the processor does").unwrap(), 1);
    let settled = app.get(&format!("/api/v1/payments/transactions/{late}"), &other.secret_key).await;
    assert_eq!(settled.data(200)["intent"]["status"], "captured", "{}", settled.json);
    let asked = hung();
    // The next round asks again only about operations whose backoff is over: none yet of those
    // asked, and the next few of the merchant's others.
    let round = tokio::time::timeout(Duration::from_secs(20), kassa_server::payments::reconcile(&app.state, Duration::ZERO)).await;
    assert_eq!(round.expect("a round ends").unwrap(), 0);
    let asked_again = hung() - asked;
    assert!(asked_again <= 10 * 2, "at most one round's share of the merchant's operations is asked: {asked_again}");
    let pending = app.get("/api/v1/payments/transactions?limit=100", app.sk()).await;
    assert!(
        pending.data(200).as_array().unwrap().iter().all(|p| p["status"] == "processing"),
        "nothing of the hanging merchant's was guessed"
    );
}

/// The merchant moves a processor away, and its Stripe payments stay at Stripe.
async fn back_to_the_sandbox(app: &TestApp) {
    let back = app.post("/api/v1/processor", app.sk(), json!({ "processor": "sandbox" })).await;
    assert_eq!(back.data(200)["processor"], "sandbox");
}

#[tokio::test]
async fn a_stripe_payment_is_refunded_at_stripe_after_the_merchant_moves_to_the_sandbox() {
    let app = TestApp::on_stripe().await;
    let authorized = app.authorize("4242424242424242", 3000).await.data(201).clone();
    let captured = app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": id(&authorized) })).await;
    assert_eq!(captured.data(200)["status"], "captured");
    let pi_id = reference(&authorized);
    back_to_the_sandbox(&app).await;

    let refund =
        |amount: i64| app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id(&authorized), "amountCents": amount }));
    let refunded = refund(1200).await;
    assert_eq!(refunded.data(200)["status"], "partially_refunded");
    assert_eq!(refunded.data(200)["refundedAmountCents"], 1200);
    let at_stripe = localstripe::refunds_of(&pi_id).await;
    assert_eq!(at_stripe.len(), 1, "the refund reached Stripe: {at_stripe:?}");
    assert_eq!((at_stripe[0]["amount"].as_i64(), at_stripe[0]["status"].as_str()), (Some(1200), Some("succeeded")));
    let history = app.intent(&id(&authorized)).await;
    let recorded = history["transactions"].as_array().unwrap().iter().find(|t| t["type"] == "refund").unwrap().clone();
    assert_eq!(recorded["providerReference"], at_stripe[0]["id"], "the refund names Stripe's");
    assert_eq!(recorded["status"], "approved");
    assert!(app.processor.effects_of("refund").is_empty(), "the sandbox refunded nothing");

    // What is left is 1800: a refund past it is refused before anything is sent.
    assert_eq!(refund(2000).await.error(409, "INVALID_STATE")["details"]["refundableCents"], 1800);
    assert_eq!(refund(1800).await.data(200)["status"], "refunded");
    refund(1).await.error(409, "INVALID_STATE");
    let mut amounts: Vec<i64> = localstripe::refunds_of(&pi_id).await.iter().map(|r| r["amount"].as_i64().unwrap()).collect();
    amounts.sort();
    assert_eq!(amounts, [1200, 1800]);
    assert_eq!(localstripe::payment_intent(&pi_id).await["latest_charge"]["amount_refunded"], 3000);

    // New payments are the sandbox's.
    let declined = app.sale("4000000000009995", 500).await;
    assert_eq!(declined.error(402, "CARD_DECLINED")["details"]["declineCode"], "insufficient_funds");
}

#[tokio::test]
async fn a_refund_left_pending_when_the_merchant_moves_to_the_sandbox_is_looked_up_at_stripe() {
    let mut app = TestApp::on_stripe().await;
    let dropping = Arc::new(AtomicBool::new(false));
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let proxy = watching_proxy(dropping.clone(), "/v1/refunds", seen.clone(), holding_none()).await;
    app.use_stripe_at(&proxy);
    let sale = app.sale("4242424242424242", 2000).await.data(201).clone();

    // Stripe refunds; its answer is lost, so the refund waits for the reconciler.
    dropping.store(true, Ordering::SeqCst);
    let lost = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id(&sale), "amountCents": 700 })).await;
    lost.error(504, "PROVIDER_TIMEOUT");
    dropping.store(false, Ordering::SeqCst);
    assert_eq!(localstripe::refunds_of(&reference(&sale)).await.len(), 1);
    back_to_the_sandbox(&app).await;

    let asked_before = seen.lock().unwrap().len();
    assert_eq!(kassa_server::payments::reconcile(&app.state, Duration::ZERO).await.unwrap(), 1);
    let asked: Vec<String> = seen.lock().unwrap()[asked_before..].to_vec();
    assert!(asked.iter().any(|r| r.starts_with("GET /v1/refunds")), "the reconciler asked Stripe: {asked:?}");
    let books = app.intent(&id(&sale)).await;
    assert_eq!(books["intent"]["status"], "partially_refunded", "Stripe's refund is on the books");
    assert_eq!(books["intent"]["refundedAmountCents"], 700);
    assert!(app.processor.effects_of("refund").is_empty(), "the sandbox was not asked");

    // So the 700 is not refunded twice: what is left is 1300, and it goes to Stripe too.
    let more = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id(&sale), "amountCents": 2000 })).await;
    assert_eq!(more.error(409, "INVALID_STATE")["details"]["refundableCents"], 1300);
    let rest = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id(&sale), "amountCents": 1300 })).await;
    assert_eq!(rest.data(200)["status"], "refunded");
    let mut amounts: Vec<i64> = localstripe::refunds_of(&reference(&sale)).await.iter().map(|r| r["amount"].as_i64().unwrap()).collect();
    amounts.sort();
    assert_eq!(amounts, [700, 1300]);
}

#[tokio::test]
async fn payments_made_with_one_stripe_key_are_captured_and_refunded_with_it_after_the_merchant_changes_keys() {
    const OTHER_KEY: &str = "sk_test_kassa_another_account";
    let mut app = TestApp::on_stripe().await;
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let proxy = watching_proxy(Arc::default(), "", seen.clone(), holding_none()).await;
    app.use_stripe_at(&proxy);
    let held = app.authorize("4242424242424242", 2500).await.data(201).clone();
    let sale = app.sale("4242424242424242", 1800).await.data(201).clone();

    let moved = app.post("/api/v1/processor", app.sk(), json!({ "processor": "stripe", "secretKey": OTHER_KEY })).await;
    assert_eq!(moved.data(200)["secretKeyHint"], "sk_test_…ount");
    let asked_before = seen.lock().unwrap().len();
    let captured = app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": id(&held) })).await;
    assert_eq!(captured.data(200)["status"], "captured");
    let refunded = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id(&sale), "amountCents": 800 })).await;
    assert_eq!(refunded.data(200)["status"], "partially_refunded");
    let voidable = app.sale("4242424242424242", 900).await.data(201).clone();

    let asked: Vec<String> = seen.lock().unwrap()[asked_before..].to_vec();
    let with = |key: &str, what: &str| asked.iter().filter(|r| r.ends_with(&format!(" {key}")) && r.contains(what)).count();
    assert_eq!(with(localstripe::SECRET_KEY, &format!("/v1/payment_intents/{}/capture", reference(&held))), 1, "{asked:?}");
    assert_eq!(with(localstripe::SECRET_KEY, "POST /v1/refunds"), 1, "{asked:?}");
    assert_eq!(with(OTHER_KEY, "/capture"), 0, "{asked:?}");
    assert_eq!(with(OTHER_KEY, "/v1/refunds"), 0, "{asked:?}");
    // The new payment is made with the new key.
    assert!(with(OTHER_KEY, &format!("/v1/payment_intents/{}", reference(&voidable))) >= 1, "{asked:?}");
    assert_eq!(localstripe::payment_intent(&reference(&held)).await["status"], "succeeded");
    assert_eq!(localstripe::refunds_of(&reference(&sale)).await.len(), 1);

    // Both keys' payments go on after a restart (nothing of the server's memory is kept).
    app.restart().await;
    app.use_stripe_at(&proxy);
    let asked_before = seen.lock().unwrap().len();
    assert_eq!(
        app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id(&held) })).await.data(200)["status"],
        "refunded"
    );
    assert_eq!(
        app.post("/api/v1/payments/void", app.sk(), json!({ "paymentIntentId": id(&voidable) })).await.data(200)["status"],
        "voided"
    );
    let asked: Vec<String> = seen.lock().unwrap()[asked_before..].to_vec();
    let keys: Vec<&str> = asked.iter().filter(|r| r.starts_with("POST")).filter_map(|r| r.rsplit(' ').next()).collect();
    assert_eq!(keys, [localstripe::SECRET_KEY, OTHER_KEY], "{asked:?}");
}

#[tokio::test]
async fn a_challenge_at_stripe_finishes_there_and_stripe_s_events_still_count_after_the_merchant_moves_to_the_sandbox() {
    let app = TestApp::on_stripe().await;
    let (payment, _, pending) = challenged(&app, 2600, "4000002760003184").await;
    let pi_id = reference(&pending);
    back_to_the_sandbox(&app).await;

    // The cardholder was still on Stripe's page: Kassa's address sends them there, and their
    // return resumes the PaymentIntent at Stripe.
    let back = through_stripe_s_page(&app, pending["nextAction"]["url"].as_str().unwrap(), true).await;
    assert_eq!(returned(&app, &back).await, (200, "captured".to_owned()));
    assert_eq!(localstripe::payment_intent(&pi_id).await["status"], "succeeded");
    assert_eq!(localstripe::payment_intents_of(&payment).await.len(), 1);
    assert!(app.processor.effects().is_empty(), "the sandbox did nothing: {:?}", app.processor.effects());

    // A refund goes to Stripe, which fails it later and says so with the secret of the account
    // the merchant left: the event still verifies, and the refund is taken back.
    let refunded = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": payment, "amountCents": 600 })).await;
    assert_eq!(refunded.data(200)["refundedAmountCents"], 600);
    let mut refund = localstripe::refunds_of(&pi_id).await.remove(0);
    refund["status"] = json!("failed");
    refund["failure_reason"] = json!("expired_or_canceled_card");
    let event = json!({ "id": "evt_kassa_after_the_move", "object": "event", "type": "refund.failed", "data": { "object": refund } });
    let applied = app.stripe_event(&event).await;
    assert_eq!(applied.status, 200, "{}", applied.json);
    assert_eq!(applied.json["applied"], "refund_failed");
    assert_eq!(app.intent(&payment).await["intent"]["refundedAmountCents"], 0);
}

#[tokio::test]
async fn a_rotated_encryption_key_seals_every_stripe_key_payments_still_need_again() {
    const OTHER_KEY: &str = "sk_test_kassa_rotated_account";
    let url = tokio::task::spawn_blocking(localstripe::url).await.unwrap();
    let (old, new) = ("cd".repeat(32), "ab".repeat(32));
    let mut app = TestApp::with_latency(Duration::ZERO).await;
    app.state.keyring = Arc::new(Keyring::parse(&old).unwrap());
    app.use_stripe_at(url);
    let choose = |key: &'static str| app.post("/api/v1/processor", app.sk(), json!({ "processor": "stripe", "secretKey": key }));
    assert_eq!(choose(localstripe::SECRET_KEY).await.data(200)["processor"], "stripe");
    let first = app.sale("4242424242424242", 1400).await.data(201).clone();
    assert_eq!(choose(OTHER_KEY).await.data(200)["processor"], "stripe");
    let second = app.sale("4242424242424242", 1600).await.data(201).clone();

    // New key first, the old one after it: both versions are sealed again under the new one.
    let both = Keyring::parse(&format!("{new},{old}")).unwrap();
    assert_eq!(kassa_server::processor::registry::reseal_all(&app.store, &both).await.unwrap(), 2);
    assert_eq!(kassa_server::processor::registry::reseal_all(&app.store, &both).await.unwrap(), 0);
    // Then the old key goes, and both payments are still refunded at Stripe.
    app.state.keyring = Arc::new(Keyring::parse(&new).unwrap());
    app.restart().await;
    app.use_stripe_at(url);
    for payment in [&first, &second] {
        let refunded = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id(payment) })).await;
        assert_eq!(refunded.data(200)["status"], "refunded");
        assert_eq!(localstripe::refunds_of(&reference(payment)).await.len(), 1);
    }
    for (table, column, value) in app.db.stored_values().await {
        assert!(!value.contains(localstripe::SECRET_KEY) && !value.contains(OTHER_KEY), "{table}.{column} holds a Stripe key");
    }
}

#[tokio::test]
async fn a_replaced_webhook_secret_signs_nothing_and_an_account_s_secret_speaks_only_for_its_own_payments() {
    const OTHER_KEY: &str = "sk_test_kassa_another_account";
    const OTHER_SECRET: &str = "whsec_kassa_another_account";
    const ROTATED: &str = "whsec_kassa_rotated";
    let mut app = TestApp::on_stripe().await;
    let proxy = lossy_proxy(Arc::new(AtomicBool::new(true)), "/confirm").await;
    app.state.processor_timeout = Duration::from_secs(5);
    app.use_stripe_at(&proxy);
    let events = std::cell::Cell::new(0);
    let send = |secret: &'static str, payment: String| {
        let (app, events) = (&app, &events);
        async move {
            let pi_id = reference(&app.intent(&payment).await["intent"]);
            events.set(events.get() + 1);
            let event = json!({ "id": format!("evt_kassa_accounts_{}", events.get()), "object": "event", "type": "payment_intent.succeeded",
                                "data": { "object": localstripe::payment_intent(&pi_id).await } });
            let body = event.to_string();
            let signature = kassa::webhook::sign(body.as_bytes(), secret, kassa_server::clock::now_ms() / 1000);
            let path = format!("/processor-webhooks/stripe/{}", app.merchant.merchant_id);
            app.send("POST", &path, None, &[("stripe-signature", signature.as_str())], Some(body.into_bytes())).await
        }
    };
    let lost = |amount: i64| {
        let app = &app;
        async move {
            app.sale("4242424242424242", amount).await.error(504, "PROVIDER_TIMEOUT")["details"]["paymentIntentId"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    // A payment of the first account, whose answer was lost.
    let first = lost(1_100).await;
    // The merchant replaces that account's webhook secret (it leaked, say): the old one signs nothing.
    let rotated = app
        .post(
            "/api/v1/processor",
            app.sk(),
            json!({ "processor": "stripe", "secretKey": localstripe::SECRET_KEY, "webhookSecret": ROTATED }),
        )
        .await;
    assert_eq!(rotated.data(200)["processor"], "stripe");
    send(STRIPE_WEBHOOK_SECRET, first.clone()).await.error(400, "VALIDATION_ERROR");
    assert_eq!(app.intent(&first).await["intent"]["status"], "processing");

    // It moves to another Stripe account, whose payment's answer is lost too.
    app.post("/api/v1/processor", app.sk(), json!({ "processor": "stripe", "secretKey": OTHER_KEY, "webhookSecret": OTHER_SECRET }))
        .await
        .data(200);
    let second = lost(1_300).await;
    // One account's secret says nothing about the other's payments.
    assert_eq!(send(ROTATED, second.clone()).await.json["applied"], "ignored");
    assert_eq!(send(OTHER_SECRET, first.clone()).await.json["applied"], "ignored");
    assert_eq!(app.intent(&first).await["intent"]["status"], "processing");
    assert_eq!(app.intent(&second).await["intent"]["status"], "processing");
    // Each account's own secret settles its own payment.
    assert_eq!(send(ROTATED, first.clone()).await.json["applied"], "settled");
    assert_eq!(send(OTHER_SECRET, second.clone()).await.json["applied"], "settled");
    assert_eq!(app.intent(&first).await["intent"]["status"], "captured");
    assert_eq!(app.intent(&second).await["intent"]["status"], "captured");
}

/// Stripe, as seen from Kassa, that goes away and comes back: a TCP proxy in front of localstripe
/// on a port of its own, which stops listening and cuts every connection through it (calls on
/// their way there, and answers on their way back after Stripe acted), then listens again on the
/// same port. localstripe itself is not killed: it keeps its records in memory only, and a
/// restarted one would have forgotten every PaymentIntent, which Stripe never does, so neither the
/// reconciler's lookups nor the count of charges would mean anything. Nor is it stopped
/// (SIGSTOP): that is a processor that hangs, not one that is gone, and other tests share it.
struct StripeLink {
    port: u16,
    accept: Option<tokio::task::JoinHandle<()>>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl StripeLink {
    async fn start() -> StripeLink {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut link = StripeLink { port, accept: None, connections: Arc::default() };
        link.up().await;
        link
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Listens again on the same port.
    async fn up(&mut self) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(([127, 0, 0, 1], self.port).into()).expect("the link's port is still free");
        let listener = socket.listen(1024).unwrap();
        let connections = self.connections.clone();
        self.accept = Some(tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                let relay = tokio::spawn(async move {
                    let Ok(mut upstream) = TcpStream::connect(localstripe::addr()).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
                let mut open = connections.lock().unwrap();
                open.retain(|c| !c.is_finished());
                open.push(relay);
            }
        }));
    }

    /// Stops listening (a new connection is refused) and cuts every open one.
    async fn down(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await;
        }
        let open: Vec<_> = self.connections.lock().unwrap().drain(..).collect();
        for relay in open {
            relay.abort();
            let _ = relay.await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_gone_under_load_and_back_charges_each_key_at_most_once_and_the_books_match_stripe() {
    tokio::task::spawn_blocking(localstripe::url).await.unwrap();
    let mut link = StripeLink::start().await;
    let db = TestDb::new().await;
    let merchant = create_merchant_with(&db, "Stripe Goes Away", &["--processor", "stripe", "--processor-secret", localstripe::SECRET_KEY]);
    let sk = merchant["secretKey"].as_str().unwrap().to_owned();
    let url = link.url();
    let args = [
        "--stripe-api-base",
        url.as_str(),
        "--card-attempt-rate-limit",
        "0",
        "--publishable-rate-limit",
        "0",
        "--processor-timeout-ms",
        "3000",
        "--reconcile-after-ms",
        "500",
        "--reconcile-backoff-ms",
        "200",
    ];
    let server = ServerProcess::start(&db, &args);
    let addr = server.addr.clone();

    // Sixteen clients send keyed sales, each of its own amount, until told to stop.
    let amount = |key: &str| -> i64 { 1000 + key.rsplit('-').next().unwrap().parse::<i64>().unwrap() % 1000 };
    let acknowledged: Arc<std::sync::Mutex<std::collections::HashMap<String, String>>> = Arc::default();
    let answers: Arc<std::sync::Mutex<std::collections::BTreeMap<u16, usize>>> = Arc::default();
    let sent: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..16 {
        let (addr, sk, acknowledged, answers, sent, stop) =
            (addr.clone(), sk.clone(), acknowledged.clone(), answers.clone(), sent.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let key = format!("gone-{c}-{}", c * 1000 + i);
                sent.lock().unwrap().push(key.clone());
                let body = json!({ "amountCents": amount(&key), "currency": "USD", "card": card("4242424242424242") });
                let answer = tokio::time::timeout(
                    Duration::from_secs(30),
                    try_request(&addr, "POST", "/api/v1/payments/sale", &sk, &[("Idempotency-Key", key.as_str())], Some(&body)),
                )
                .await;
                let (status, body) = answer.ok().flatten().unwrap_or((0, Value::Null));
                *answers.lock().unwrap().entry(status).or_default() += 1;
                if status == 201 {
                    acknowledged.lock().unwrap().insert(key, id(&body["data"]));
                } else {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                i += 1;
            }
        }));
    }
    let wait_for = |what: &'static str, count: usize| {
        let acknowledged = acknowledged.clone();
        async move {
            let started = std::time::Instant::now();
            while acknowledged.lock().unwrap().len() < count {
                assert!(started.elapsed() < Duration::from_secs(60), "{what}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    wait_for("sales went through Stripe", 20).await;
    // Mid-load, Stripe goes away for three seconds.
    link.down().await;
    let gone = std::time::Instant::now();
    let before = acknowledged.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    link.up().await;
    let outage = gone.elapsed();
    let after = acknowledged.lock().unwrap().len();
    wait_for("sales went through Stripe once it was back", after + 20).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let keys = sent.lock().unwrap().clone();

    // Every key is retried until it is paid: what was pending settles through the reconciler
    // meanwhile, and a sale whose call never reached Stripe is sent by its retry.
    let mut finals: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for key in &keys {
        let started = std::time::Instant::now();
        loop {
            let body = json!({ "amountCents": amount(key), "currency": "USD", "card": card("4242424242424242") });
            let (status, answer) =
                try_request(&addr, "POST", "/api/v1/payments/sale", &sk, &[("Idempotency-Key", key.as_str())], Some(&body)).await.unwrap();
            if status == 201 {
                finals.insert(key.clone(), id(&answer["data"]));
                break;
            }
            let retryable = answer["error"]["details"]["retryable"] == true || status == 504;
            assert!(retryable, "{key}: {status} {answer}");
            assert!(started.elapsed() < Duration::from_secs(30), "{key} never settled: {status} {answer}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let lost = acknowledged.iter().filter(|(key, id)| finals.get(*key) != Some(*id)).count();

    // Kassa's books: every payment of the merchant.
    let mut payments = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/payments/transactions?limit=100&cursor={c}"),
            None => "/api/v1/payments/transactions?limit=100".to_owned(),
        };
        let (status, page) = request(&addr, "GET", &path, &sk, None).await;
        assert_eq!(status, 200, "{page}");
        payments.extend(page["data"].as_array().unwrap().iter().cloned());
        cursor = page["meta"]["cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert!(payments.iter().all(|p| p["status"] != "processing"), "the reconciler settled every pending payment");
    // Stripe's: its PaymentIntents that Kassa opened for this merchant's payments, and charges.
    let ours: std::collections::HashSet<String> = payments.iter().map(id).collect();
    let (_, all) = localstripe::get("/v1/payment_intents?limit=100000").await;
    let mut at_stripe: std::collections::HashMap<String, Vec<Value>> = std::collections::HashMap::new();
    for pi in all["data"].as_array().unwrap() {
        if let Some(payment) = pi["metadata"][kassa_server::processor::stripe::PAYMENT_KEY].as_str().filter(|p| ours.contains(*p)) {
            at_stripe.entry(payment.to_owned()).or_default().push(pi.clone());
        }
    }
    let (_, charges) = localstripe::get("/v1/charges?limit=100000").await;
    let charges_of =
        |pi: &str| charges["data"].as_array().unwrap().iter().filter(|c| c["payment_intent"] == pi && c["status"] == "succeeded").count();
    let (mut doubled, mut reopened) = (0, 0);
    let (mut kassa_total, mut stripe_total) = (0, 0);
    for payment in &payments {
        let pis = at_stripe.get(&id(payment)).cloned().unwrap_or_default();
        let paid: Vec<&Value> = pis.iter().filter(|pi| pi["status"] == "succeeded").collect();
        doubled +=
            paid.len().saturating_sub(1) + paid.iter().map(|pi| charges_of(pi["id"].as_str().unwrap()).saturating_sub(1)).sum::<usize>();
        // A PaymentIntent whose creation was answered into the outage is made again by the retry
        // under the same Stripe idempotency key, which Stripe answers with the first one for a
        // day; localstripe keeps no such keys, and keeps both. The other is never confirmed.
        let opened_again: Vec<&Value> = pis.iter().filter(|pi| pi["status"] != "succeeded").collect();
        for pi in &opened_again {
            assert_eq!(pi["status"], "requires_confirmation", "{pi}");
            assert!(paid.iter().any(|p| p["metadata"]["kassa_call"] == pi["metadata"]["kassa_call"]), "{pi} was opened by another call");
        }
        reopened += opened_again.len();
        let captured = payment["status"] == "captured";
        assert_eq!(paid.len(), usize::from(captured), "{}: {} in Kassa, at Stripe {pis:?}", id(payment), payment["status"]);
        if captured {
            assert_eq!(paid[0]["amount"], payment["capturedAmountCents"], "{payment}");
            assert_eq!(charges_of(paid[0]["id"].as_str().unwrap()), 1, "{payment}");
            kassa_total += payment["capturedAmountCents"].as_i64().unwrap();
            stripe_total += paid[0]["amount"].as_i64().unwrap();
        }
    }
    let paid_keys = finals.len();
    let captured = payments.iter().filter(|p| p["status"] == "captured").count();
    let answers = answers.lock().unwrap().clone();
    eprintln!(
        "Stripe gone: {} requests, {} keys, {} acknowledged ({before} before the outage of {:.1}s), answers {answers:?}, {paid_keys} paid and {} failed for good after retries, {} payments in Kassa ({captured} captured, {kassa_total} cents) and {} at Stripe ({stripe_total} cents), lost: {lost}, doubled: {doubled}, PaymentIntents opened again under the same idempotency key: {reopened}",
        answers.values().sum::<usize>(),
        keys.len(),
        acknowledged.len(),
        outage.as_secs_f64(),
        keys.len() - paid_keys,
        payments.len(),
        at_stripe.len(),
    );
    assert_eq!(lost, 0, "acknowledged, then lost");
    assert_eq!(paid_keys, keys.len(), "every key is paid by its retries");
    assert_eq!(doubled, 0, "a key reached Stripe more than once");
    assert_eq!(captured, paid_keys, "each paid key is one captured payment");
    assert_eq!(kassa_total, stripe_total);
}
