//! Every test card's outcome, and the card checks.

mod common;

use std::time::Duration;

use common::{card, TestApp};
use serde_json::json;

#[tokio::test]
async fn approved_cards() {
    let app = TestApp::new().await;
    for (number, brand, cvc) in
        [("4242424242424242", "visa", "123"), ("5555555555554444", "mastercard", "123"), ("378282246310005", "amex", "1234")]
    {
        let response = app
            .post(
                "/api/v1/payments/sale",
                app.sk(),
                json!({ "amountCents": 1000, "currency": "USD",
                "card": { "number": number, "expMonth": 1, "expYear": 2035, "cvc": cvc } }),
            )
            .await;
        let intent = response.data(201);
        assert_eq!(intent["status"], "captured", "{number}");
        assert_eq!(intent["cardBrand"], brand);
        assert_eq!(intent["cardLast4"], &number[number.len() - 4..]);
        // No postal code given: AVS unavailable; CVC given: matched.
        assert_eq!(intent["avsResponse"], "U");
        assert_eq!(intent["cvvResponse"], "M");
    }
    let no_cvc = app
        .post(
            "/api/v1/payments/sale",
            app.sk(),
            json!({ "amountCents": 1000, "currency": "USD",
        "card": { "number": "4242424242424242", "expMonth": 1, "expYear": 2035 } }),
        )
        .await;
    assert_eq!(no_cvc.data(201)["cvvResponse"], "P");
}

#[tokio::test]
async fn declined_cards_carry_their_decline_code_and_are_listed_as_declined() {
    let app = TestApp::new().await;
    let cases = [
        ("4000000000000002", "generic_decline", "05", "N/A"),
        ("4000000000009995", "insufficient_funds", "51", "N/A"),
        ("4000000000009987", "lost_card", "41", "N/A"),
        ("4000000000009979", "stolen_card", "43", "N/A"),
        ("4000000000000069", "expired_card", "54", "N/A"),
        ("4000000000000127", "incorrect_cvc", "N7", "N"),
    ];
    for (number, decline_code, response_code, cvv) in cases {
        let response = app.sale(number, 2500).await;
        let error = response.error(402, "CARD_DECLINED");
        assert_eq!(error["details"]["declineCode"], decline_code, "{number}");
        let id = error["details"]["paymentIntentId"].as_str().unwrap().to_owned();
        let history = app.intent(&id).await;
        assert_eq!(history["intent"]["status"], "declined");
        assert_eq!(history["intent"]["lastError"]["declineCode"], decline_code);
        assert_eq!(history["intent"]["lastError"]["code"], "CARD_DECLINED");
        assert_eq!(history["intent"]["capturedAmountCents"], 0);
        assert_eq!(history["transactions"][0]["status"], "declined");
        assert_eq!(history["transactions"][0]["responseCode"], response_code);
        if cvv != "N/A" {
            assert_eq!(history["intent"]["cvvResponse"], cvv);
        }
    }
    let declined = app.get("/api/v1/payments/transactions?status=declined", app.sk()).await;
    assert_eq!(declined.data(200).as_array().unwrap().len(), cases.len());
    let captured = app.get("/api/v1/payments/transactions?status=captured", app.sk()).await;
    assert!(captured.data(200).as_array().unwrap().is_empty());
}

#[tokio::test]
async fn processor_failures_are_provider_errors_and_listed_as_error() {
    let app = TestApp::new().await;
    let failed = app.sale("4000000000000119", 2500).await;
    let id = failed.error(502, "PROVIDER_ERROR")["details"]["paymentIntentId"].as_str().unwrap().to_owned();
    let history = app.intent(&id).await;
    assert_eq!(history["intent"]["status"], "error");
    assert_eq!(history["intent"]["lastError"]["code"], "PROVIDER_ERROR");
    assert_eq!(history["transactions"][0]["status"], "error");
    assert_eq!(history["transactions"][0]["responseCode"], "96");

    let errors = app.get("/api/v1/payments/transactions?status=error", app.sk()).await;
    assert_eq!(errors.data(200).as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_timeout_leaves_the_payment_processing_until_the_reconciler_asks_the_processor() {
    let app = TestApp::new().await;
    let timed_out = app
        .post_with_key(
            "/api/v1/payments/sale",
            app.sk(),
            "sale-408",
            json!({ "amountCents": 2500, "currency": "USD", "card": card("4000000000000408") }),
        )
        .await;
    let id = timed_out.error(504, "PROVIDER_TIMEOUT")["details"]["paymentIntentId"].as_str().unwrap().to_owned();
    let history = app.intent(&id).await;
    assert_eq!(history["intent"]["status"], "processing");
    assert_eq!(history["transactions"].as_array().unwrap().len(), 0, "nothing is known yet");
    // A retry of the same request neither runs again nor guesses.
    let retry = app
        .post_with_key(
            "/api/v1/payments/sale",
            app.sk(),
            "sale-408",
            json!({ "amountCents": 2500, "currency": "USD", "card": card("4000000000000408") }),
        )
        .await;
    assert_eq!(retry.error(409, "DUPLICATE_REQUEST")["details"]["retryable"], true);
    // Nothing else may change it meanwhile.
    app.post("/api/v1/payments/void", app.sk(), json!({ "paymentIntentId": id })).await.error(409, "INVALID_STATE");

    // The sandbox did approve it; the reconciler finds that out.
    assert_eq!(kassa_server::payments::reconcile(&app.state, Duration::ZERO).await.unwrap(), 1);
    let history = app.intent(&id).await;
    assert_eq!(history["intent"]["status"], "captured");
    assert_eq!(history["intent"]["capturedAmountCents"], 2500);
    assert_eq!(app.processor.effects_of("sale").len(), 1);
    // The retry now replays the outcome, and charges nothing.
    let replay = app
        .post_with_key(
            "/api/v1/payments/sale",
            app.sk(),
            "sale-408",
            json!({ "amountCents": 2500, "currency": "USD", "card": card("4000000000000408") }),
        )
        .await;
    assert_eq!(replay.data(201)["status"], "captured");
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(app.processor.effects_of("sale").len(), 1);
    assert_eq!(app.all_intent_ids().await.len(), 1);
}

#[tokio::test]
async fn three_d_secure_cards() {
    let app = TestApp::new().await;
    for number in ["4000002760003184", "4000000000003220", "4000008260003178"] {
        let response = app.sale(number, 4000).await;
        let intent = response.data(201);
        assert_eq!(intent["status"], "requires_action", "{number}");
        assert_eq!(intent["nextAction"]["type"], "three_ds_challenge");
        assert!(intent["nextAction"]["url"].as_str().unwrap().contains(intent["id"].as_str().unwrap()));
        assert_eq!(intent["capturedAmountCents"], 0);
        let history = app.intent(intent["id"].as_str().unwrap()).await;
        assert_eq!(history["transactions"][0]["type"], "three_ds");
        assert_eq!(history["transactions"][0]["status"], "pending");
    }
    let frictionless = app.sale("4000000000003055", 4000).await;
    assert_eq!(frictionless.data(201)["status"], "captured");
}

#[tokio::test]
async fn card_checks_name_the_field_and_never_echo_the_number() {
    let app = TestApp::new().await;
    let cases = [
        (json!({ "number": "4242424242424241", "expMonth": 12, "expYear": 2034 }), "card.number"),
        (json!({ "number": "42424242", "expMonth": 12, "expYear": 2034 }), "card.number"),
        (json!({ "number": 4242424242424242u64, "expMonth": 12, "expYear": 2034 }), "card.number"),
        (json!({ "number": "4242424242424242", "expMonth": 13, "expYear": 2034 }), "card.expMonth"),
        (json!({ "number": "4242424242424242", "expMonth": 1, "expYear": 2020 }), "card.expYear"),
        (json!({ "number": "4242424242424242", "expMonth": 12, "expYear": 2034, "cvc": "1234" }), "card.cvc"),
        (json!({ "number": "378282246310005", "expMonth": 12, "expYear": 2034, "cvc": "123" }), "card.cvc"),
        (json!({ "number": "4242424242424242", "expMonth": 12, "expYear": 2034, "cvc": 987 }), "card.cvc"),
        (json!({ "expMonth": 12, "expYear": 2034 }), "card.number"),
    ];
    for (card, field) in cases {
        for path in ["/api/v1/payment-methods", "/api/v1/payments/sale"] {
            let body = json!({ "amountCents": 100, "currency": "USD", "card": card });
            let body = if path.ends_with("payment-methods") { json!({ "card": body["card"] }) } else { body };
            let response = app.post(path, app.sk(), body).await;
            let error = response.error(400, "VALIDATION_ERROR");
            assert_eq!(error["details"]["field"], field, "{card}");
            let text = String::from_utf8_lossy(&response.bytes);
            assert!(!text.contains("4242424242424242") && !text.contains("424242424242424"), "{text}");
            assert!(!text.contains("987"), "{text}");
        }
    }
    assert!(app.all_intent_ids().await.is_empty());
}
