//! The client flows as state machines, step by step, with no network: what each asks for, what it
//! does with each answer, and that the JSON it builds and reads by hand is what serde writes.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::result_large_err)]

use kassa::api::NextAction;
use kassa::client::{
    Api, CardDetails, ChallengeError, ConfirmParams, ErrorType, Flow, HttpRequest, HttpResponse, Json, KassaError, Method, Step,
    TransportError, ATTEMPTS,
};
use serde_json::{json, Value};

const SECRET: &str = "pi_0123456789abcdef0123456789abcdef_secret_s3cr3t";

fn api() -> Api {
    Api::new("pk_test_flow", "https://kassa.test/")
}

fn card(number: &str) -> CardDetails {
    CardDetails { number: number.into(), exp_month: 12, exp_year: 2034, cvc: Some("123".into()), name: None, postal_code: None }
}

fn with_card(number: &str) -> ConfirmParams {
    ConfirmParams { card: Some(card(number)), handle_actions: true, ..ConfirmParams::default() }
}

fn answer(status: u16, body: Value) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse { status, body: body.to_string() })
}

fn intent(status: &str, extra: Value) -> Value {
    let mut intent = json!({ "id": "pi_0123456789abcdef0123456789abcdef", "status": status, "amountCents": 1500 });
    intent.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    intent
}

fn sent(step: Step<Value>) -> HttpRequest {
    match step {
        Step::Send(request) => request,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn done(step: Step<Value>) -> Result<Value, KassaError> {
    match step {
        Step::Done(result) => result,
        other => panic!("expected the end, got {other:?}"),
    }
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}

#[test]
fn a_confirmation_is_one_post_with_the_card_the_key_and_an_idempotency_key() {
    let mut flow: Flow<Value> = api().confirm_payment(SECRET, &with_card("4242 4242 4242 4242"), "key-1".into());
    let request = sent(flow.start());
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url, "https://kassa.test/api/v1/payments/intents/pi_0123456789abcdef0123456789abcdef/confirm");
    assert_eq!(header(&request, "authorization"), Some("Bearer pk_test_flow"));
    assert_eq!(header(&request, "idempotency-key"), Some("key-1"));
    let body: Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({ "clientSecret": SECRET, "saveCard": false, "card": serde_json::to_value(card("4242 4242 4242 4242")).unwrap() })
    );
    let data = done(flow.on_response(answer(200, json!({ "data": intent("captured", json!({})) })))).unwrap();
    assert_eq!(data["status"], "captured");
}

#[test]
fn lost_answers_and_requests_in_flight_are_sent_again_with_the_same_key_after_a_growing_wait() {
    let mut flow: Flow<Value> = api().confirm_payment(SECRET, &with_card("4242424242424242"), "key-1".into());
    let first = sent(flow.start());
    assert_eq!(flow.on_response(Err(TransportError("reset".into()))), Step::Sleep(200));
    assert_eq!(sent(flow.on_slept()), first);
    let in_flight = json!({ "error": { "code": "DUPLICATE_REQUEST", "message": "still running", "details": { "retryable": true } } });
    assert_eq!(flow.on_response(answer(409, in_flight)), Step::Sleep(400));
    assert_eq!(sent(flow.on_slept()), first);
    assert_eq!(flow.on_response(answer(503, json!({}))), Step::Sleep(800));
    assert_eq!(sent(flow.on_slept()), first);
    assert_eq!(done(flow.on_response(answer(200, json!({ "data": intent("captured", json!({})) })))).unwrap()["status"], "captured");
}

#[test]
fn after_the_last_attempt_the_error_is_returned() {
    let mut flow: Flow<Value> = api().retrieve_payment_intent(SECRET);
    let mut step = flow.start();
    for _ in 1..ATTEMPTS {
        sent(step);
        assert!(matches!(flow.on_response(Err(TransportError("offline".into()))), Step::Sleep(_)));
        step = flow.on_slept();
    }
    sent(step);
    let error = done(flow.on_response(Err(TransportError("offline".into())))).unwrap_err();
    assert_eq!((error.kind, error.code.as_str()), (ErrorType::ApiConnectionError, "NETWORK_ERROR"));
    assert!(error.message.contains("offline"), "{}", error.message);
}

#[test]
fn a_refusal_is_not_retried_and_reads_kassas_error_format() {
    let mut flow: Flow<Value> = api().confirm_payment(SECRET, &with_card("4000000000009995"), "key-1".into());
    sent(flow.start());
    let declined = json!({ "error": { "code": "CARD_DECLINED", "message": "Your card has insufficient funds.",
        "details": { "declineCode": "insufficient_funds", "paymentIntentId": "pi_0123456789abcdef0123456789abcdef" } } });
    let error = done(flow.on_response(answer(402, declined))).unwrap_err();
    assert_eq!(error.kind, ErrorType::CardError);
    assert_eq!(error.decline_code.as_deref(), Some("insufficient_funds"));
    assert_eq!(error.payment_intent_id.as_deref(), Some("pi_0123456789abcdef0123456789abcdef"));
    assert_eq!(error.status, Some(402));

    let mut flow: Flow<Value> = api().retrieve_payment_intent(SECRET);
    sent(flow.start());
    let error = done(flow.on_response(Ok(HttpResponse { status: 502, body: "<html>bad gateway</html>".into() }))).unwrap_err();
    assert_eq!((error.code.as_str(), error.status), ("INTERNAL", Some(502)));
    let mut flow: Flow<Value> = api().retrieve_payment_intent(SECRET);
    sent(flow.start());
    let error = done(flow.on_response(answer(200, json!({ "nodata": true })))).unwrap_err();
    assert_eq!(error.message, "Kassa answered in an unexpected form");
}

fn challenged(then: Result<(), ChallengeError>) -> (Flow<Value>, Step<Value>) {
    let mut flow: Flow<Value> = api().confirm_payment(SECRET, &with_card("4000002760003184"), "key-1".into());
    sent(flow.start());
    let action = json!({ "type": "three_ds_challenge", "url": "https://kassa.test/3ds/challenge?session=s", "challengeWindowSize": "03" });
    let step = flow.on_response(answer(200, json!({ "data": intent("requires_action", json!({ "nextAction": action })) })));
    assert_eq!(
        step,
        Step::Challenge(NextAction {
            kind: "three_ds_challenge".into(),
            url: "https://kassa.test/3ds/challenge?session=s".into(),
            challenge_window_size: "03".into()
        })
    );
    let step = flow.on_challenge(then);
    (flow, step)
}

#[test]
fn a_completed_challenge_rereads_the_intent_and_a_decline_after_it_is_the_error() {
    let (mut flow, step) = challenged(Ok(()));
    let reread = sent(step);
    assert_eq!(reread.method, Method::Get);
    assert!(
        reread.url.ends_with(&format!("/payments/intents/pi_0123456789abcdef0123456789abcdef?clientSecret={SECRET}")),
        "{}",
        reread.url
    );
    assert_eq!(header(&reread, "idempotency-key"), None);
    let last_error =
        json!({ "code": "CARD_DECLINED", "declineCode": "insufficient_funds", "message": "Your card has insufficient funds." });
    let error =
        done(flow.on_response(answer(200, json!({ "data": intent("requires_payment_method", json!({ "lastError": last_error })) }))))
            .unwrap_err();
    assert_eq!((error.kind, error.decline_code.as_deref()), (ErrorType::CardError, Some("insufficient_funds")));
    assert_eq!(error.payment_intent_id.as_deref(), Some("pi_0123456789abcdef0123456789abcdef"));

    let (mut flow, step) = challenged(Ok(()));
    sent(step);
    assert_eq!(done(flow.on_response(answer(200, json!({ "data": intent("captured", json!({})) })))).unwrap()["status"], "captured");
}

#[test]
fn a_closed_challenge_is_an_error_and_no_screen_returns_the_intent_as_it_is() {
    let (_, step) = challenged(Err(ChallengeError::Cancelled));
    let error = done(step).unwrap_err();
    assert_eq!(error.code, "AUTHENTICATION_CANCELLED");
    assert_eq!(error.payment_intent_id.as_deref(), Some("pi_0123456789abcdef0123456789abcdef"));
    let (_, step) = challenged(Err(ChallengeError::Unavailable));
    assert_eq!(done(step).unwrap()["status"], "requires_action");
}

#[test]
fn without_handle_actions_the_intent_comes_back_requiring_action() {
    let params = ConfirmParams { handle_actions: false, ..with_card("4000002760003184") };
    let mut flow: Flow<Value> = api().confirm_payment(SECRET, &params, "key-1".into());
    sent(flow.start());
    let action = json!({ "type": "three_ds_challenge", "url": "https://kassa.test/3ds", "challengeWindowSize": "03" });
    let data = done(flow.on_response(answer(200, json!({ "data": intent("requires_action", json!({ "nextAction": action })) })))).unwrap();
    assert_eq!(data["status"], "requires_action");
}

#[test]
fn bad_arguments_end_the_flow_before_any_request() {
    let cases: [(Flow<Value>, &str); 5] = [
        (api().confirm_payment(SECRET, &with_card("4242424242424241"), "k".into()), "card.number"),
        (api().confirm_payment("pi_nope", &with_card("4242424242424242"), "k".into()), "clientSecret"),
        (api().confirm_payment(SECRET, &ConfirmParams::default(), "k".into()), "card"),
        (api().create_payment_method(&CardDetails { exp_month: 13, ..card("4242424242424242") }, "k".into()), "card.expMonth"),
        (api().list_payment_methods("cus_nope"), "customerSession"),
    ];
    for (mut flow, param) in cases {
        let error = done(flow.start()).unwrap_err();
        assert_eq!((error.kind, error.param.as_deref(), error.status), (ErrorType::ValidationError, Some(param), None));
    }
}

#[test]
fn a_flow_told_what_it_did_not_ask_for_ends_with_an_error() {
    let mut flow: Flow<Value> = api().retrieve_payment_intent(SECRET);
    assert_eq!(done(flow.on_slept()).unwrap_err().code, "INTERNAL");
    let mut flow: Flow<Value> = api().retrieve_payment_intent(SECRET);
    sent(flow.start());
    assert_eq!(done(flow.on_challenge(Ok(()))).unwrap_err().code, "INTERNAL");
}

#[test]
fn params_read_from_a_callers_object_name_what_is_wrong() {
    let read = |value: Value| ConfirmParams::from_json(&value);
    let full = json!({ "card": { "number": "4242424242424242", "expMonth": 12, "expYear": 2034, "cvc": "123", "postalCode": "10115" },
        "saveCard": true, "returnUrl": "https://shop.test/done", "handleActions": false, "tipCents": 200, "frameAncestors": ["https://shop.test"] });
    let params = read(full.clone()).unwrap();
    assert_eq!(params, serde_json::from_value::<ConfirmParams>(full).unwrap(), "the hand-written reader agrees with serde");
    assert_eq!(
        read(json!({ "paymentMethodId": "pm_1" })).unwrap(),
        ConfirmParams { payment_method_id: Some("pm_1".into()), handle_actions: true, ..ConfirmParams::default() }
    );
    let refused = [
        (json!({ "paymentMethodID": "pm_1" }), "paymentMethodID"),
        (json!({ "card": "4242" }), "card"),
        (json!({ "card": { "number": 4242424242424242u64, "expMonth": 12, "expYear": 2034 } }), "card.number"),
        (json!({ "card": { "number": "4242424242424242", "expMonth": 1.5, "expYear": 2034 } }), "card.expMonth"),
        (json!({ "card": { "number": "4242424242424242", "expMonth": 12 } }), "card.expYear"),
        (json!({ "tipCents": "2" }), "tipCents"),
        (json!({ "tipCents": 9007199254740992u64 }), "tipCents"),
        (json!({ "frameAncestors": ["https://a.test", 1] }), "frameAncestors"),
        (json!({ "saveCard": "yes" }), "saveCard"),
        (json!([]), "params"),
    ];
    for (value, param) in refused {
        let error = read(value.clone()).unwrap_err();
        assert_eq!(error.param.as_deref(), Some(param), "{value}: {}", error.message);
        assert!(error.message.starts_with(param), "{}", error.message);
    }
    assert_eq!(CardDetails::from_json(&Value::Null).unwrap_err().param.as_deref(), Some("card"));
}

#[test]
fn errors_are_handed_over_as_serde_writes_them() {
    let errors = [
        KassaError::invalid_argument("card.number", "card number is not valid"),
        KassaError::connection("offline"),
        KassaError::unexpected(502),
        KassaError::authentication_cancelled("pi_1"),
        KassaError::from_body(
            402,
            Some(&json!({ "error": { "code": "CARD_DECLINED", "message": "declined", "details": { "declineCode": "do_not_honor" } } })),
        ),
    ];
    for error in errors {
        assert_eq!(error.to_json::<Value>(), serde_json::to_value(&error).unwrap());
    }
    for kind in [
        ErrorType::CardError,
        ErrorType::ValidationError,
        ErrorType::AuthenticationError,
        ErrorType::RateLimitError,
        ErrorType::IdempotencyError,
        ErrorType::InvalidRequestError,
        ErrorType::ApiError,
        ErrorType::ApiConnectionError,
    ] {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    assert_eq!(Value::parse("[1, 2]").and_then(|v| Json::as_array(&v)).map(|a| a.len()), Some(2));
    assert_eq!(Json::get(&json!({ "a": null }), "a"), None, "null is as good as missing");
}
