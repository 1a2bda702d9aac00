//! The contract crate compiled to WebAssembly and run in Chromium: the same rules hold there.
#![cfg(target_arch = "wasm32")]

use kassa::api::{IntentStatus, PaymentIntent};
use kassa::card::{CardBrand, CardError, CardNumber, Cvc, Expiry};
use kassa::{Currency, ErrorCode, ErrorEnvelope, MoneyError};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn money_parses_and_formats_with_exponents() {
    assert_eq!(Currency::USD.parse_amount("26.98"), Ok(2698));
    assert_eq!(Currency::KWD.parse_amount("1.234"), Ok(1234));
    assert!(matches!(Currency::JPY.parse_amount("1.5"), Err(MoneyError::TooManyDecimals { .. })));
    assert!(matches!(Currency::USD.parse_amount("26.987"), Err(MoneyError::TooManyDecimals { .. })));
    assert_eq!(Currency::KWD.format_amount(5), "0.005");
    assert_eq!(Currency::JPY.format_amount(1500), "1500");
}

#[wasm_bindgen_test]
fn card_rules_hold() {
    let amex = CardNumber::parse("3782 822463 10005").unwrap();
    assert_eq!(amex.brand(), CardBrand::Amex);
    assert_eq!(amex.masked(), "378282*****0005");
    assert_eq!(CardBrand::detect("2223003122003222"), CardBrand::Mastercard);
    assert_eq!(CardNumber::parse("4242424242424241"), Err(CardError::FailedLuhn));
    assert_eq!(Cvc::parse("123").unwrap().check_for(CardBrand::Amex), Err(CardError::InvalidCvc("4")));
    assert_eq!(Expiry::new(1, 26, (2026, 2)), Err(CardError::Expired));
}

#[wasm_bindgen_test]
fn wire_types_read_what_the_server_writes() {
    let error: ErrorEnvelope = serde_json::from_str(
        r#"{"error":{"code":"CARD_DECLINED","message":"The card has insufficient funds","details":{"declineCode":"insufficient_funds"}}}"#,
    )
    .unwrap();
    assert_eq!(error.error.code, ErrorCode::CardDeclined);
    assert_eq!(error.error.code.http_status(), 402);
    let intent: PaymentIntent = serde_json::from_str(
        r#"{"id":"pi_abc","status":"requires_action","amountCents":1500,"tipCents":0,"capturedAmountCents":0,
            "refundedAmountCents":0,"currency":"EUR","captureMethod":"automatic","paymentMethodType":"card",
            "cardBrand":"visa","cardLast4":"3184","authCode":null,"avsResponse":null,"cvvResponse":null,
            "providerReference":null,"orderId":null,"customerId":null,"locationId":null,"terminalId":null,
            "lineItems":[],"metadata":{},"nextAction":{"type":"three_ds_challenge","url":"/3ds/pi_abc/challenge",
            "challengeWindowSize":"05"},"lastError":null,"createdAt":"2026-11-21T10:00:00.000Z",
            "updatedAt":"2026-11-21T10:00:00.000Z"}"#,
    )
    .unwrap();
    assert_eq!(intent.status, IntentStatus::RequiresAction);
    assert_eq!(intent.currency, Currency::EUR);
    assert_eq!(intent.next_action.unwrap().kind, "three_ds_challenge");
}
