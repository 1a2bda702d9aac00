//! The payment operations through HTTP: each success, each refusal and every state transition.

mod common;

use common::{card, TestApp};
use serde_json::json;

#[tokio::test]
async fn a_sale_captures_amount_plus_tip_and_records_authorize_and_capture() {
    let app = TestApp::new().await;
    let response = app
        .post(
            "/api/v1/payments/sale",
            app.sk(),
            json!({
                "amountCents": 1500, "tipCents": 200, "currency": "USD", "card": card("4242 4242 4242 4242"),
                "reference": "order-1", "customerId": "cust-1", "locationId": "loc-1", "terminalId": "term-1",
                "lineItems": [{ "name": "Coffee", "unitAmountCents": 750, "quantity": 2 }],
                "metadata": { "source": "pos" }
            }),
        )
        .await;
    let intent = response.data(201);
    assert_eq!(intent["status"], "captured");
    assert_eq!(intent["amountCents"], 1500);
    assert_eq!(intent["tipCents"], 200);
    assert_eq!(intent["capturedAmountCents"], 1700);
    assert_eq!(intent["captureMethod"], "automatic");
    assert_eq!(intent["cardBrand"], "visa");
    assert_eq!(intent["cardLast4"], "4242");
    assert_eq!(intent["avsResponse"], "Z");
    assert_eq!(intent["cvvResponse"], "M");
    assert_eq!(intent["authCode"].as_str().unwrap().len(), 6);
    assert_eq!((intent["reference"].as_str(), intent["orderId"].as_str()), (Some("order-1"), None));
    assert_eq!(intent["lineItems"][0]["name"], "Coffee");
    assert_eq!(intent["metadata"]["source"], "pos");
    assert!(intent["id"].as_str().unwrap().starts_with("pi_"));
    assert!(intent.get("clientSecret").is_none());

    let history = app.intent(intent["id"].as_str().unwrap()).await;
    let kinds: Vec<_> = history["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["type"].clone(), t["status"].clone(), t["responseCode"].clone()))
        .collect();
    assert_eq!(kinds, vec![(json!("authorize"), json!("approved"), json!("00")), (json!("capture"), json!("approved"), json!("00"))]);
    assert_eq!(history["transactions"][0]["amountCents"], 1700);
    assert!(history["transactions"][0]["createdAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn authorize_then_capture_in_full_or_in_part() {
    let app = TestApp::new().await;
    let full = app.authorized(5000).await;
    assert_eq!(app.intent(&full).await["intent"]["status"], "authorized");
    let captured = app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": full })).await;
    assert_eq!(captured.data(200)["status"], "captured");
    assert_eq!(captured.data(200)["capturedAmountCents"], 5000);

    let partial = app.authorized(5000).await;
    let captured = app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": partial, "amountCents": 4500 })).await;
    assert_eq!(captured.data(200)["capturedAmountCents"], 4500);
    assert_eq!(captured.data(200)["amountCents"], 5000);
    let history = app.intent(&partial).await;
    assert_eq!(history["transactions"][1]["type"], "capture");
    assert_eq!(history["transactions"][1]["amountCents"], 4500);
}

#[tokio::test]
async fn capture_refusals() {
    let app = TestApp::new().await;
    let id = app.authorized(5000).await;
    app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": id, "amountCents": 5001 }))
        .await
        .error(400, "VALIDATION_ERROR");
    app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": id, "amountCents": 0 })).await.error(400, "VALIDATION_ERROR");
    app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": id })).await.data(200);
    // Capture twice.
    let twice = app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": id })).await;
    assert_eq!(twice.error(409, "INVALID_STATE")["details"]["status"], "captured");
    // Capture after void.
    let voided = app.authorized(100).await;
    app.post("/api/v1/payments/void", app.sk(), json!({ "paymentIntentId": voided })).await.data(200);
    app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": voided })).await.error(409, "INVALID_STATE");
    // Capture of a declined payment, and of nothing.
    let declined = app.authorize("4000000000000002", 100).await.error(402, "CARD_DECLINED")["details"]["paymentIntentId"].clone();
    app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": declined })).await.error(409, "INVALID_STATE");
    app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": "pi_doesnotexist" })).await.error(404, "NOT_FOUND");
    app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": "ord_wrongkind" })).await.error(400, "VALIDATION_ERROR");
    // Nothing changed by the refusals.
    assert_eq!(app.intent(&id).await["intent"]["capturedAmountCents"], 5000);
    assert_eq!(app.intent(&id).await["transactions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn void_releases_an_authorization_or_a_capture_and_nothing_after() {
    let app = TestApp::new().await;
    let authorized = app.authorized(700).await;
    let voided = app.post("/api/v1/payments/void", app.sk(), json!({ "paymentIntentId": authorized })).await;
    assert_eq!(voided.data(200)["status"], "voided");
    let captured = app.captured(700).await;
    assert_eq!(app.post("/api/v1/payments/void", app.sk(), json!({ "paymentIntentId": captured })).await.data(200)["status"], "voided");
    let history = app.intent(&captured).await;
    assert_eq!(history["transactions"][2]["type"], "void");
    // Void twice, refund after void, tip after void.
    app.post("/api/v1/payments/void", app.sk(), json!({ "paymentIntentId": captured })).await.error(409, "INVALID_STATE");
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": captured })).await.error(409, "INVALID_STATE");
    app.post(&format!("/api/v1/payments/{captured}/tip"), app.sk(), json!({ "tipCents": 100 })).await.error(409, "INVALID_STATE");
    // A partly refunded payment is refunded, not voided.
    let refunded = app.captured(700).await;
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": refunded, "amountCents": 100 })).await.data(200);
    app.post("/api/v1/payments/void", app.sk(), json!({ "paymentIntentId": refunded })).await.error(409, "INVALID_STATE");
}

#[tokio::test]
async fn refunds_are_partial_repeated_and_never_past_the_captured_amount() {
    let app = TestApp::new().await;
    let id = app.captured(1000).await;
    let first =
        app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id, "amountCents": 300, "reason": "damaged" })).await;
    assert_eq!(first.data(200)["status"], "partially_refunded");
    assert_eq!(first.data(200)["refundedAmountCents"], 300);
    let second = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id, "amountCents": 300 })).await;
    assert_eq!(second.data(200)["refundedAmountCents"], 600);
    let beyond = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id, "amountCents": 401 })).await;
    assert_eq!(beyond.error(409, "INVALID_STATE")["details"]["refundableCents"], 400);
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id, "amountCents": -5 })).await.error(400, "VALIDATION_ERROR");
    // Without an amount, the rest.
    let rest = app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id })).await;
    assert_eq!(rest.data(200)["status"], "refunded");
    assert_eq!(rest.data(200)["refundedAmountCents"], 1000);
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": id, "amountCents": 1 })).await.error(409, "INVALID_STATE");
    let refunds = app.intent(&id).await["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == "refund").count();
    assert_eq!(refunds, 3);
    // An authorization is voided, not refunded.
    let authorized = app.authorized(500).await;
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": authorized })).await.error(409, "INVALID_STATE");
}

#[tokio::test]
async fn a_tip_is_set_before_settlement_and_follows_into_the_capture() {
    let app = TestApp::new().await;
    let authorized = app.authorized(2000).await;
    let tipped = app.post(&format!("/api/v1/payments/{authorized}/tip"), app.sk(), json!({ "tipCents": 300 })).await;
    assert_eq!(tipped.data(200)["tipCents"], 300);
    assert_eq!(tipped.data(200)["capturedAmountCents"], 0);
    let captured = app.post("/api/v1/payments/capture", app.sk(), json!({ "paymentIntentId": authorized })).await;
    assert_eq!(captured.data(200)["capturedAmountCents"], 2300);
    // On a captured sale the tip replaces the old one.
    let sale = app
        .post(
            "/api/v1/payments/sale",
            app.sk(),
            json!({ "amountCents": 1000, "tipCents": 100, "currency": "USD", "card": card("4242424242424242") }),
        )
        .await;
    let sale_id = sale.data(201)["id"].as_str().unwrap().to_owned();
    let adjusted = app.post(&format!("/api/v1/payments/{sale_id}/tip"), app.sk(), json!({ "tipCents": 250 })).await;
    assert_eq!(adjusted.data(200)["tipCents"], 250);
    assert_eq!(adjusted.data(200)["capturedAmountCents"], 1250);
    assert_eq!(app.intent(&sale_id).await["transactions"][2]["type"], "tip_adjust");
    app.post(&format!("/api/v1/payments/{sale_id}/tip"), app.sk(), json!({ "tipCents": -1 })).await.error(400, "VALIDATION_ERROR");
    app.post("/api/v1/payments/pi_nosuchintent/tip", app.sk(), json!({ "tipCents": 1 })).await.error(404, "NOT_FOUND");
    // Not after a refund, nor on a decline.
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": sale_id, "amountCents": 100 })).await.data(200);
    app.post(&format!("/api/v1/payments/{sale_id}/tip"), app.sk(), json!({ "tipCents": 300 })).await.error(409, "INVALID_STATE");
    // Authorize takes no tip: it is added later.
    app.post(
        "/api/v1/payments/authorize",
        app.sk(),
        json!({ "amountCents": 1000, "tipCents": 100, "currency": "USD", "card": card("4242424242424242") }),
    )
    .await
    .error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_token_pays_once() {
    let app = TestApp::new().await;
    let token = app.post("/api/v1/payment-methods", app.pk(), json!({ "card": card("5555555555554444") })).await;
    let token = token.data(201);
    assert!(token["id"].as_str().unwrap().starts_with("tok_"));
    assert_eq!(token["card"]["brand"], "mastercard");
    assert_eq!(token["card"]["last4"], "4444");
    assert_eq!(token["card"]["expMonth"], 12);
    assert_eq!(token["card"]["expYear"], 2034);
    assert_eq!(token["card"]["fingerprint"].as_str().unwrap().len(), 16);
    assert_eq!(token["used"], false);
    let id = token["id"].as_str().unwrap();
    let sale = app.post("/api/v1/payments/sale", app.sk(), json!({ "amountCents": 900, "currency": "EUR", "token": id })).await;
    assert_eq!(sale.data(201)["cardBrand"], "mastercard");
    assert_eq!(sale.data(201)["currency"], "EUR");
    let again = app.post("/api/v1/payments/sale", app.sk(), json!({ "amountCents": 900, "currency": "EUR", "token": id })).await;
    again.error(409, "INVALID_STATE");
    // The same card tokenized again has the same fingerprint.
    let second = app.post("/api/v1/payment-methods", app.sk(), json!({ "card": card("5555 5555 5555 4444") })).await;
    assert_eq!(second.data(201)["card"]["fingerprint"], token["card"]["fingerprint"]);
    let other = app.post("/api/v1/payment-methods", app.sk(), json!({ "card": card("4242424242424242") })).await;
    assert_ne!(other.data(201)["card"]["fingerprint"], token["card"]["fingerprint"]);
}

#[tokio::test]
async fn exactly_one_payment_source() {
    let app = TestApp::new().await;
    let token = app.post("/api/v1/payment-methods", app.sk(), json!({ "card": card("4242424242424242") })).await.data(201)["id"].clone();
    let neither = app.post("/api/v1/payments/sale", app.sk(), json!({ "amountCents": 100, "currency": "USD" })).await;
    assert_eq!(neither.error(400, "VALIDATION_ERROR")["details"]["field"], "card");
    app.post(
        "/api/v1/payments/sale",
        app.sk(),
        json!({ "amountCents": 100, "currency": "USD", "card": card("4242424242424242"), "token": token }),
    )
    .await
    .error(400, "VALIDATION_ERROR");
    app.post("/api/v1/payments/sale", app.sk(), json!({ "amountCents": 100, "currency": "USD", "token": "tok_unknown" }))
        .await
        .error(404, "NOT_FOUND");
    let saved = app
        .post("/api/v1/payments/sale", app.sk(), json!({ "amountCents": 100, "currency": "USD", "paymentMethodId": "pm_unknown" }))
        .await;
    assert_eq!(saved.error(404, "NOT_FOUND")["details"]["field"], "paymentMethodId");
    assert!(app.all_intent_ids().await.is_empty(), "a refused request created a payment");
}

#[tokio::test]
async fn amounts_and_currencies_are_checked() {
    let app = TestApp::new().await;
    for (amount, currency, field) in
        [(0, "USD", "amountCents"), (-100, "USD", "amountCents"), (10_000_000_001i64, "USD", "amountCents"), (100, "XYZ", "currency")]
    {
        let response = app
            .post(
                "/api/v1/payments/sale",
                app.sk(),
                json!({ "amountCents": amount, "currency": currency, "card": card("4242424242424242") }),
            )
            .await;
        assert_eq!(response.error(400, "VALIDATION_ERROR")["details"]["field"], field, "{amount} {currency}");
    }
    let fractional = app
        .post("/api/v1/payments/sale", app.sk(), json!({ "amountCents": 10.5, "currency": "USD", "card": card("4242424242424242") }))
        .await;
    assert_eq!(fractional.error(400, "VALIDATION_ERROR")["details"]["field"], "amountCents");
    let yen = app
        .post("/api/v1/payments/sale", app.sk(), json!({ "amountCents": 1500, "currency": "JPY", "card": card("4242424242424242") }))
        .await;
    assert_eq!(yen.data(201)["currency"], "JPY");
    let dinar = app
        .post("/api/v1/payments/sale", app.sk(), json!({ "amountCents": 1234, "currency": "KWD", "card": card("4242424242424242") }))
        .await;
    assert_eq!(dinar.data(201)["capturedAmountCents"], 1234);
}
