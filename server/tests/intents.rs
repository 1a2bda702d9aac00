//! Intents confirmed from the browser, 3-D Secure, saved cards and failed payments, over HTTP.

mod common;

use common::{card, TestApp, TestResponse};
use serde_json::{json, Value};

async fn intent(app: &TestApp, body: Value) -> (String, String) {
    let created = app.post("/api/v1/payments/intents", app.sk(), body).await;
    let data = created.data(201);
    assert_eq!(data["status"], "requires_payment_method");
    (data["id"].as_str().unwrap().to_owned(), data["clientSecret"].as_str().unwrap().to_owned())
}

async fn confirm(app: &TestApp, id: &str, body: Value) -> TestResponse {
    app.send(
        "POST",
        &format!("/api/v1/payments/intents/{id}/confirm"),
        Some(app.pk()),
        &[("origin", "http://shop.test")],
        Some(body.to_string().into_bytes()),
    )
    .await
}

/// [`confirm`] as the customer whose session secret is `session`.
async fn confirm_as(app: &TestApp, session: &str, id: &str, body: Value) -> TestResponse {
    let headers = [("origin", "http://shop.test"), ("kassa-customer-session", session)];
    app.send("POST", &format!("/api/v1/payments/intents/{id}/confirm"), Some(app.pk()), &headers, Some(body.to_string().into_bytes())).await
}

/// Fills in the 3-D Secure page the way a cardholder would.
async fn answer_challenge(app: &TestApp, url: &str, code: &str) -> TestResponse {
    let path = url.split_once("://").map(|(_, rest)| &rest[rest.find('/').unwrap()..]).unwrap();
    let page = app.send("GET", path, None, &[], None).await;
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.bytes.clone()).unwrap();
    assert!(html.contains("123456"), "the sandbox page explains its code");
    post_answer(app, url, code).await
}

/// Posts an answer to the 3-D Secure page, as its Verify button does.
async fn post_answer(app: &TestApp, url: &str, code: &str) -> TestResponse {
    let path = url.split_once("://").map(|(_, rest)| &rest[rest.find('/').unwrap()..]).unwrap();
    let session = path.split("session=").nth(1).unwrap();
    let form = format!("session={session}&code={code}&action=verify");
    app.send(
        "POST",
        path.split('?').next().unwrap(),
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(form.into_bytes()),
    )
    .await
}

#[tokio::test]
async fn a_browser_confirms_an_intent_with_the_publishable_key_and_its_client_secret() {
    let app = TestApp::new().await;
    let (id, secret) = intent(
        &app,
        json!({ "amountCents": 2698, "currency": "USD", "reference": "ord-9",
        "lineItems": [{ "name": "Tea", "unitAmountCents": 1349, "quantity": 2 }] }),
    )
    .await;
    assert!(secret.starts_with(&format!("{id}_secret_")));

    // Seen with the client secret, never showing it again.
    let seen = app.get(&format!("/api/v1/payments/intents/{id}?clientSecret={secret}"), app.pk()).await;
    assert_eq!(seen.data(200)["amountCents"], 2698);
    assert!(seen.data(200).get("clientSecret").is_none());
    // Without it, or with another, the intent does not exist.
    app.get(&format!("/api/v1/payments/intents/{id}"), app.pk()).await.error(404, "NOT_FOUND");
    app.get(&format!("/api/v1/payments/intents/{id}?clientSecret={id}_secret_guess"), app.pk()).await.error(404, "NOT_FOUND");
    confirm(&app, &id, json!({ "clientSecret": format!("{id}_secret_guess"), "card": card("4242424242424242") }))
        .await
        .error(404, "NOT_FOUND");
    confirm(&app, &id, json!({ "card": card("4242424242424242") })).await.error(404, "NOT_FOUND");

    let confirmed = confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4242424242424242") })).await;
    let data = confirmed.data(200);
    assert_eq!(data["status"], "captured");
    assert_eq!(data["capturedAmountCents"], 2698);
    assert_eq!(data["cardLast4"], "4242");
    assert_eq!(data["lineItems"][0]["name"], "Tea");
    // Once paid, it is not paid again.
    confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4242424242424242") })).await.error(409, "INVALID_STATE");
    assert_eq!(app.intent(&id).await["transactions"].as_array().unwrap().len(), 2);
    // The secret key sees it too, but a publishable key cannot create one.
    assert_eq!(app.get(&format!("/api/v1/payments/intents/{id}"), app.sk()).await.data(200)["status"], "captured");
    app.post("/api/v1/payments/intents", app.pk(), json!({ "amountCents": 100, "currency": "USD" })).await.error(403, "FORBIDDEN");
}

#[tokio::test]
async fn a_declined_card_leaves_the_intent_ready_for_another() {
    let app = TestApp::new().await;
    let (id, secret) = intent(&app, json!({ "amountCents": 5000, "currency": "EUR", "captureMethod": "manual" })).await;
    let declined = confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4000000000009995") })).await;
    let error = declined.error(402, "CARD_DECLINED");
    assert_eq!(error["details"]["declineCode"], "insufficient_funds");
    assert_eq!(error["details"]["paymentIntentId"], id.as_str());
    let after = app.intent(&id).await;
    assert_eq!(after["intent"]["status"], "requires_payment_method");
    assert_eq!(after["intent"]["lastError"]["declineCode"], "insufficient_funds");
    let authorized = confirm(&app, &id, json!({ "clientSecret": secret, "card": card("5555555555554444") })).await;
    assert_eq!(authorized.data(200)["status"], "authorized");
    assert_eq!(authorized.data(200)["lastError"], Value::Null);
    let history = app.intent(&id).await["transactions"].clone();
    let statuses: Vec<_> = history.as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap().to_owned()).collect();
    assert_eq!(statuses, ["declined", "approved"]);
}

#[tokio::test]
async fn three_d_secure_challenge_passed_failed_and_declined_after() {
    let app = TestApp::new().await;
    // 3184: challenge, then approved.
    let (id, secret) = intent(&app, json!({ "amountCents": 4200, "currency": "GBP" })).await;
    let pending =
        confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4000002760003184"), "returnUrl": "https://shop.test/done" }))
            .await;
    let next = &pending.data(200)["nextAction"];
    assert_eq!(pending.data(200)["status"], "requires_action");
    assert_eq!(next["type"], "three_ds_challenge");
    assert_eq!(next["challengeWindowSize"], "03");
    let url = next["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://") && url.contains(&format!("/3ds/{id}/challenge?session=")));

    let page = app.send("GET", &url[url.find("/3ds").unwrap()..], None, &[], None).await;
    let html = String::from_utf8_lossy(&page.bytes);
    assert!(html.contains("Test Shop") && html.contains("42.00 GBP") && html.contains("3184"), "{html}");
    assert!(!html.contains("<script>"), "no inline script");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors http://shop.test") && csp.contains("script-src 'self'"), "{csp}");

    let done = answer_challenge(&app, &url, "123456").await;
    let html = String::from_utf8_lossy(&done.bytes);
    assert!(html.contains(r#"data-status="captured""#) && html.contains(r#"data-origin="http://shop.test""#), "{html}");
    assert!(html.contains(r#"data-return-url="https://shop.test/done""#));
    let history = app.intent(&id).await;
    assert_eq!(history["intent"]["status"], "captured");
    assert_eq!(history["intent"]["nextAction"], Value::Null);
    let kinds: Vec<_> = history["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{}:{}", t["type"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, ["three_ds:pending", "three_ds:approved", "authorize:approved", "capture:approved"]);
    // The page's secret is answered once: after that it shows the outcome, and a second answer
    // (a double click on Verify) changes nothing and reaches no processor.
    assert_eq!(answer_challenge_status(&app, &url).await, 200);
    let again = post_answer(&app, &url, "123456").await;
    assert!(String::from_utf8_lossy(&again.bytes).contains(r#"data-status="captured""#));
    assert_eq!(app.intent(&id).await["transactions"].as_array().unwrap().len(), 4);
    assert_eq!(app.processor.effects_of("sale").len(), 1);

    // A wrong code: back to requires_payment_method, the failure recorded.
    let (id, secret) = intent(&app, json!({ "amountCents": 4200, "currency": "GBP" })).await;
    let pending = confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4000000000003220") })).await;
    let url = pending.data(200)["nextAction"]["url"].as_str().unwrap().to_owned();
    let failed = answer_challenge(&app, &url, "000000").await;
    assert!(String::from_utf8_lossy(&failed.bytes).contains("data-status=\"requires_payment_method\""));
    let after = app.intent(&id).await;
    assert_eq!(after["intent"]["lastError"]["declineCode"], "authentication_failed");
    assert_eq!(after["transactions"][1]["type"], "three_ds");
    assert_eq!(after["transactions"][1]["status"], "declined");
    // ...and the customer pays with another card.
    assert_eq!(
        confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4242424242424242") })).await.data(200)["status"],
        "captured"
    );

    // 3178: challenge passed, then the issuer declines.
    let (id, secret) = intent(&app, json!({ "amountCents": 4200, "currency": "GBP" })).await;
    let pending = confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4000008260003178") })).await;
    let url = pending.data(200)["nextAction"]["url"].as_str().unwrap().to_owned();
    answer_challenge(&app, &url, "123456").await;
    let after = app.intent(&id).await;
    assert_eq!(after["intent"]["status"], "requires_payment_method");
    assert_eq!(after["intent"]["lastError"]["declineCode"], "insufficient_funds");

    // Frictionless: no challenge at all.
    let (id, secret) = intent(&app, json!({ "amountCents": 4200, "currency": "GBP" })).await;
    assert_eq!(
        confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4000000000003055") })).await.data(200)["status"],
        "captured"
    );
}

async fn answer_challenge_status(app: &TestApp, url: &str) -> u16 {
    let path = &url[url.find("/3ds").unwrap()..];
    app.send("GET", path, None, &[], None).await.status.as_u16()
}

#[tokio::test]
async fn a_server_side_sale_with_a_challenge_card_finishes_on_the_challenge_page() {
    let app = TestApp::new().await;
    let sale = app.sale("4000002760003184", 1000).await;
    let url = sale.data(201)["nextAction"]["url"].as_str().unwrap().to_owned();
    let id = sale.data(201)["id"].as_str().unwrap().to_owned();
    answer_challenge(&app, &url, "999999").await;
    // A server-side payment that fails stays failed, and is listed as such.
    assert_eq!(app.intent(&id).await["intent"]["status"], "declined");
    let failed = app.get("/api/v1/payments/failed", app.sk()).await;
    assert_eq!(failed.data(200)[0]["id"], id.as_str());
}

async fn customer(app: &TestApp) -> String {
    let created = app.post("/api/v1/customers", app.sk(), json!({ "email": "jo@example.com", "name": "Jo" })).await;
    created.data(201)["id"].as_str().unwrap().to_owned()
}

async fn session(app: &TestApp, customer: &str) -> String {
    let created = app.post(&format!("/api/v1/customers/{customer}/sessions"), app.sk(), json!({})).await;
    created.data(201)["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_returning_customer_pays_with_a_saved_card_and_removes_it() {
    let app = TestApp::new().await;
    let cus = customer(&app).await;
    // First payment saves the card.
    let (id, secret) = intent(&app, json!({ "amountCents": 1500, "currency": "USD", "customerId": cus })).await;
    let cus_session = session(&app, &cus).await;
    let other = customer(&app).await;
    let other_session = session(&app, &other).await;
    // Saving a card needs the customer's own session: the client secret alone shows one payment.
    let save = json!({ "clientSecret": secret, "card": card("4242424242424242"), "saveCard": true });
    assert_eq!(confirm(&app, &id, save.clone()).await.error(403, "FORBIDDEN")["details"]["field"], "saveCard");
    confirm_as(&app, &other_session, &id, save.clone()).await.error(404, "NOT_FOUND");
    confirm_as(&app, "cus_nobody_session_forged", &id, save.clone()).await.error(404, "NOT_FOUND");
    assert_eq!(app.intent(&id).await["intent"]["status"], "requires_payment_method");
    confirm_as(&app, &cus_session, &id, save).await.data(200);
    let path = format!("/api/v1/customers/{cus}/payment-methods");
    let listed = app.send("GET", &path, Some(app.pk()), &[("kassa-customer-session", &cus_session)], None).await;
    let methods = listed.data(200).as_array().unwrap().clone();
    assert_eq!(methods.len(), 1);
    assert_eq!(methods[0]["card"]["last4"], "4242");
    assert_eq!(methods[0]["isDefault"], true);
    let pm = methods[0]["id"].as_str().unwrap().to_owned();

    // Second payment uses it without a card, in the customer's session only.
    let (id, secret) = intent(&app, json!({ "amountCents": 900, "currency": "USD", "customerId": cus })).await;
    let saved = json!({ "clientSecret": secret, "paymentMethodId": pm });
    assert_eq!(confirm(&app, &id, saved.clone()).await.error(403, "FORBIDDEN")["details"]["field"], "paymentMethodId");
    confirm_as(&app, &other_session, &id, saved.clone()).await.error(404, "NOT_FOUND");
    assert_eq!(app.intent(&id).await["intent"]["status"], "requires_payment_method");
    let paid = confirm_as(&app, &cus_session, &id, saved).await;
    assert_eq!(paid.data(200)["status"], "captured");
    assert_eq!(paid.data(200)["cardLast4"], "4242");
    assert_eq!(app.processor.effects_of("sale").len(), 2);

    // Another customer's intent cannot use it, whatever session comes with it.
    let (id, secret) = intent(&app, json!({ "amountCents": 900, "currency": "USD", "customerId": other })).await;
    confirm_as(&app, &other_session, &id, json!({ "clientSecret": secret, "paymentMethodId": pm })).await.error(404, "NOT_FOUND");
    confirm_as(&app, &cus_session, &id, json!({ "clientSecret": secret, "paymentMethodId": pm })).await.error(404, "NOT_FOUND");
    // Another customer's session cannot see or delete it.
    app.send("GET", &path, Some(app.pk()), &[("kassa-customer-session", &other_session)], None).await.error(404, "NOT_FOUND");
    app.send("DELETE", &format!("{path}/{pm}"), Some(app.pk()), &[("kassa-customer-session", &other_session)], None)
        .await
        .error(404, "NOT_FOUND");
    app.send("GET", &path, Some(app.pk()), &[], None).await.error(403, "FORBIDDEN");

    let deleted = app.send("DELETE", &format!("{path}/{pm}"), Some(app.pk()), &[("kassa-customer-session", &cus_session)], None).await;
    assert_eq!(deleted.data(200)["deleted"], true);
    let listed = app.send("GET", &path, Some(app.pk()), &[("kassa-customer-session", &cus_session)], None).await;
    assert!(listed.data(200).as_array().unwrap().is_empty());
    app.send("DELETE", &format!("{path}/{pm}"), Some(app.pk()), &[("kassa-customer-session", &cus_session)], None)
        .await
        .error(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_card_saved_by_an_authorization_is_saved_once_whatever_follows() {
    let app = TestApp::new().await;
    let cus = customer(&app).await;
    let cus_session = session(&app, &cus).await;
    let (id, secret) = intent(&app, json!({ "amountCents": 2500, "currency": "USD", "customerId": cus, "captureMethod": "manual" })).await;
    let save = json!({ "clientSecret": secret, "card": card("4242424242424242"), "saveCard": true });
    assert_eq!(confirm_as(&app, &cus_session, &id, save).await.data(200)["status"], "authorized");
    let path = format!("/api/v1/customers/{cus}/payment-methods");
    let saved = || async { app.get(&path, app.sk()).await.data(200).as_array().unwrap().len() };
    assert_eq!(saved().await, 1, "the authorization saved the card");
    // The capture, and a refund after it, change a payment that already paid: nothing more is saved.
    let captured = app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": id, "amountCents": 2000 })).await;
    assert_eq!(captured.data(200)["status"], "captured");
    assert_eq!(saved().await, 1, "the capture saved no second card");
    let refunded = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id, "amountCents": 500 })).await;
    assert_eq!(refunded.data(200)["status"], "partially_refunded");
    assert_eq!(saved().await, 1, "the refund saved no second card");
}

#[tokio::test]
async fn the_server_saves_cards_and_charges_them() {
    let app = TestApp::new().await;
    let cus = customer(&app).await;
    let path = format!("/api/v1/customers/{cus}/payment-methods");
    let token = |number: &'static str| {
        let app = &app;
        async move { app.post("/api/v1/payment-methods", app.pk(), json!({ "card": card(number) })).await.data(201)["id"].clone() }
    };
    let first = app.post(&path, app.sk(), json!({ "token": token("4242424242424242").await, "nickname": "Personal Visa" })).await;
    assert_eq!(first.data(201)["isDefault"], true);
    let used = first.data(201)["id"].clone();
    let second = app.post(&path, app.sk(), json!({ "token": token("5555555555554444").await, "isDefault": true })).await;
    assert_eq!(second.data(201)["isDefault"], true);
    let listed = app.get(&path, app.sk()).await;
    let listed = listed.data(200).as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["card"]["brand"], "mastercard", "the default comes first");
    assert_eq!(listed[1]["isDefault"], false);
    assert_eq!(listed[1]["nickname"], "Personal Visa");
    let sale = app.post("/api/v1/payments/sale", app.sk(), json!({ "amountCents": 700, "currency": "USD", "paymentMethodId": used })).await;
    assert_eq!(sale.data(201)["customerId"], cus.as_str());
    // Customers are listed and read; another merchant sees none of it.
    assert_eq!(app.get("/api/v1/customers", app.sk()).await.data(200)[0]["id"], cus.as_str());
    assert_eq!(app.get(&format!("/api/v1/customers/{cus}"), app.sk()).await.data(200)["email"], "jo@example.com");
    let other = app.other_merchant().await;
    app.get(&format!("/api/v1/customers/{cus}"), &other.secret_key).await.error(404, "NOT_FOUND");
    app.get(&path, &other.secret_key).await.error(404, "NOT_FOUND");
    app.post("/api/v1/payments/sale", &other.secret_key, json!({ "amountCents": 700, "currency": "USD", "paymentMethodId": used }))
        .await
        .error(404, "NOT_FOUND");
    app.post(&format!("/api/v1/customers/{cus}/sessions"), &other.secret_key, json!({})).await.error(404, "NOT_FOUND");
    // saveCard needs a customer; a publishable key cannot make customers or sessions.
    let (id, secret) = intent(&app, json!({ "amountCents": 100, "currency": "USD" })).await;
    confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4242424242424242"), "saveCard": true }))
        .await
        .error(400, "VALIDATION_ERROR");
    app.post("/api/v1/customers", app.pk(), json!({})).await.error(403, "FORBIDDEN");
    app.post(&format!("/api/v1/customers/{cus}/sessions"), app.pk(), json!({})).await.error(403, "FORBIDDEN");
    app.post("/api/v1/payments/intents", app.sk(), json!({ "amountCents": 100, "currency": "USD", "customerId": "cus_nobody" }))
        .await
        .error(404, "NOT_FOUND");
}

#[tokio::test]
async fn failed_payments_are_listed_counted_retried_and_resolved() {
    let app = TestApp::new().await;
    let declined =
        app.sale("4000000000000002", 1200).await.error(402, "CARD_DECLINED")["details"]["paymentIntentId"].as_str().unwrap().to_owned();
    let errored =
        app.sale("4000000000000119", 800).await.error(502, "PROVIDER_ERROR")["details"]["paymentIntentId"].as_str().unwrap().to_owned();
    app.captured(500).await;

    let counts = app.get("/api/v1/payments/failed?counts=true", app.sk()).await;
    assert_eq!(counts.data(200).clone(), json!({ "total": 2, "declined": 1, "error": 1 }));
    let listed = app.get("/api/v1/payments/failed", app.sk()).await;
    let ids: Vec<_> = listed.data(200).as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, [errored.clone(), declined.clone()]);
    assert_eq!(app.get("/api/v1/payments/failed?status=declined", app.sk()).await.data(200).as_array().unwrap().len(), 1);
    app.get("/api/v1/payments/failed?status=captured", app.sk()).await.error(400, "VALIDATION_ERROR");
    app.get("/api/v1/payments/failed", app.pk()).await.error(403, "FORBIDDEN");

    // Retry with the same card: declined again, as a new intent.
    let again = app.post(&format!("/api/v1/payments/failed/{declined}/retry"), app.sk(), json!({})).await;
    let again_id = again.error(402, "CARD_DECLINED")["details"]["paymentIntentId"].as_str().unwrap().to_owned();
    assert_ne!(again_id, declined);
    assert_eq!(app.intent(&again_id).await["intent"]["metadata"]["retryOf"], declined.as_str());
    // Retry with a new token: captured, and it says what it retried.
    let token = app.post("/api/v1/payment-methods", app.pk(), json!({ "card": card("4242424242424242") })).await.data(201)["id"].clone();
    let retried = app.post(&format!("/api/v1/payments/failed/{declined}/retry"), app.sk(), json!({ "token": token })).await;
    let data = retried.data(201);
    assert_eq!(data["status"], "captured");
    assert_eq!(data["amountCents"], 1200);
    assert_eq!(data["metadata"]["retryOf"], declined.as_str());
    assert_eq!(data["metadata"]["originalIntentId"], declined.as_str());
    assert_eq!(data["metadata"]["retryAttempt"], true);
    // Only failed payments are retried.
    let captured_id = data["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/v1/payments/failed/{captured_id}/retry"), app.sk(), json!({})).await.error(409, "INVALID_STATE");

    // Resolve the errored one as paid in cash.
    let resolved = app
        .post(
            &format!("/api/v1/payments/failed/{errored}/resolve"),
            app.sk(),
            json!({ "resolution": "resolved", "reason": "Paid at the counter", "paidByOtherMeans": true, "otherMeansType": "cash" }),
        )
        .await;
    let data = resolved.data(200);
    assert_eq!(data["status"], "resolved");
    assert_eq!(data["resolution"]["resolution"], "resolved");
    assert_eq!(data["resolution"]["otherMeansType"], "cash");
    app.post(&format!("/api/v1/payments/failed/{errored}/resolve"), app.sk(), json!({ "resolution": "resolved" }))
        .await
        .error(409, "INVALID_STATE");
    app.post(&format!("/api/v1/payments/failed/{declined}/resolve"), app.sk(), json!({ "resolution": "maybe" }))
        .await
        .error(400, "VALIDATION_ERROR");
    // The retry that paid closed its original, which is retried no more.
    let original = app.intent(&declined).await;
    assert_eq!(original["intent"]["status"], "resolved");
    assert_eq!(original["intent"]["resolution"]["reason"], format!("Paid by retry {captured_id}"));
    app.post(&format!("/api/v1/payments/failed/{declined}/retry"), app.sk(), json!({})).await.error(409, "INVALID_STATE");
    let counts = app.get("/api/v1/payments/failed?counts=true", app.sk()).await;
    assert_eq!(counts.data(200)["total"], 1, "the declined retry; its original was paid by the next retry");
    // Another merchant's failed payment does not exist here.
    let other = app.other_merchant().await;
    app.post(&format!("/api/v1/payments/failed/{declined}/retry"), &other.secret_key, json!({})).await.error(404, "NOT_FOUND");
    app.post(&format!("/api/v1/payments/failed/{declined}/resolve"), &other.secret_key, json!({ "resolution": "dismissed" }))
        .await
        .error(404, "NOT_FOUND");
}

#[tokio::test]
async fn browsers_may_call_the_api_from_a_shop_page() {
    let app = TestApp::new().await;
    let preflight = app
        .send(
            "OPTIONS",
            "/api/v1/payment-methods",
            None,
            &[
                ("origin", "https://shop.test"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "authorization,content-type,idempotency-key"),
            ],
            None,
        )
        .await;
    assert!(preflight.status.is_success());
    assert_eq!(preflight.headers["access-control-allow-origin"], "*");
    let allowed = preflight.headers["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(allowed.contains("idempotency-key") && allowed.contains("authorization"));
}

#[tokio::test]
async fn the_shop_changes_an_unpaid_amount_and_a_kiosk_adds_a_tip() {
    let app = TestApp::new().await;
    let (id, secret) = intent(&app, json!({ "amountCents": 2000, "currency": "USD" })).await;
    let updated = app
        .post(
            &format!("/api/v1/payments/intents/{id}"),
            app.sk(),
            json!({ "amountCents": 2600,
        "lineItems": [{ "name": "Mug", "unitAmountCents": 1300, "quantity": 2 }] }),
        )
        .await;
    assert_eq!(updated.data(200)["amountCents"], 2600);
    // The browser may not change what is owed.
    app.post(&format!("/api/v1/payments/intents/{id}"), app.pk(), json!({ "amountCents": 1 })).await.error(403, "FORBIDDEN");
    app.post(&format!("/api/v1/payments/intents/{id}"), app.sk(), json!({ "amountCents": 0 })).await.error(400, "VALIDATION_ERROR");
    // A tip on confirm is on top of the amount, and never more than it.
    confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4242424242424242"), "tipCents": 2601 }))
        .await
        .error(400, "VALIDATION_ERROR");
    let paid = confirm(&app, &id, json!({ "clientSecret": secret, "card": card("4242424242424242"), "tipCents": 468 })).await;
    assert_eq!(paid.data(200)["tipCents"], 468);
    assert_eq!(paid.data(200)["capturedAmountCents"], 3068);
    assert_eq!(app.intent(&id).await["intent"]["capturedAmountCents"], 3068);
    // Once paid, it cannot change.
    app.post(&format!("/api/v1/payments/intents/{id}"), app.sk(), json!({ "amountCents": 100 })).await.error(409, "INVALID_STATE");
}
