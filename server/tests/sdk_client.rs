//! The SDK's client flows, natively, against the server through a `Host` that routes into it.

mod common;

use std::cell::{Cell, RefCell};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use kassa::api::{IntentStatus, NextAction};
use kassa::client::{CardDetails, ChallengeError, Client, ConfirmParams, ErrorType, Host, HttpRequest, HttpResponse, TransportError};
use serde_json::json;
use tower::ServiceExt;

use common::TestApp;

struct RouterHost<'a> {
    app: &'a TestApp,
    /// Answers to lose (after the server handled the request), as a flaky network would.
    lose_answers: Cell<u32>,
    /// The code typed on the 3-D Secure page; `None` closes the window.
    code: Option<&'static str>,
    keys_made: Cell<u32>,
    sent: RefCell<Vec<HttpRequest>>,
    slept: Cell<u32>,
}

impl<'a> RouterHost<'a> {
    fn new(app: &'a TestApp) -> Self {
        RouterHost {
            app,
            lose_answers: Cell::new(0),
            code: Some("123456"),
            keys_made: Cell::new(0),
            sent: RefCell::default(),
            slept: Cell::new(0),
        }
    }
}

fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    &rest[rest.find('/').unwrap_or(rest.len())..]
}

impl Host for RouterHost<'_> {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.sent.borrow_mut().push(request.clone());
        let mut builder = Request::builder().method(request.method.as_str()).uri(path_of(&request.url));
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let body = request.body.clone().map(Body::from).unwrap_or_default();
        let response = self.app.router.clone().oneshot(builder.body(body).unwrap()).await.unwrap();
        let status = response.status().as_u16();
        let body = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        if self.lose_answers.get() > 0 {
            self.lose_answers.set(self.lose_answers.get() - 1);
            return Err(TransportError("connection reset".into()));
        }
        Ok(HttpResponse { status, body })
    }

    async fn sleep(&self, millis: u32) {
        self.slept.set(self.slept.get() + millis);
    }

    fn idempotency_key(&self) -> String {
        self.keys_made.set(self.keys_made.get() + 1);
        format!("sdk-key-{}", self.keys_made.get())
    }

    async fn present_challenge(&self, action: &NextAction) -> Result<(), ChallengeError> {
        let Some(code) = self.code else { return Err(ChallengeError::Cancelled) };
        let path = path_of(&action.url);
        let session = path.split("session=").nth(1).unwrap();
        let form = format!("session={session}&code={code}&action=verify");
        let page = self
            .app
            .send(
                "POST",
                path.split('?').next().unwrap(),
                None,
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(form.into_bytes()),
            )
            .await;
        assert_eq!(page.status, 200);
        Ok(())
    }
}

async fn client_secret(app: &TestApp, amount: i64, customer: Option<&str>) -> String {
    let mut body = json!({ "amountCents": amount, "currency": "USD" });
    if let Some(customer) = customer {
        body["customerId"] = json!(customer);
    }
    app.post("/api/v1/payments/intents", app.sk(), body).await.data(201)["clientSecret"].as_str().unwrap().to_owned()
}

fn card(number: &str) -> CardDetails {
    CardDetails { number: number.into(), exp_month: 12, exp_year: 2034, cvc: Some("123".into()), name: None, postal_code: None }
}

fn with_card(number: &str) -> ConfirmParams {
    ConfirmParams { card: Some(card(number)), handle_actions: true, ..ConfirmParams::default() }
}

#[tokio::test]
async fn confirm_pays_declines_and_drives_three_d_secure() {
    let app = TestApp::new().await;
    let client = Client::new(RouterHost::new(&app), app.pk(), "http://kassa.test/");

    let paid = client.confirm_payment(&client_secret(&app, 1000, None).await, &with_card("4242424242424242")).await.unwrap();
    assert_eq!(paid.status, IntentStatus::Captured);

    let declined = client.confirm_payment(&client_secret(&app, 1000, None).await, &with_card("4000000000009995")).await.unwrap_err();
    assert_eq!(declined.kind, ErrorType::CardError);
    assert_eq!(declined.decline_code.as_deref(), Some("insufficient_funds"));
    assert!(declined.payment_intent_id.is_some());

    let secret = client_secret(&app, 1000, None).await;
    let challenged = client.confirm_payment(&secret, &with_card("4000002760003184")).await.unwrap();
    assert_eq!(challenged.status, IntentStatus::Captured);

    let failed_after = client.confirm_payment(&client_secret(&app, 1000, None).await, &with_card("4000008260003178")).await.unwrap_err();
    assert_eq!(failed_after.kind, ErrorType::CardError);
    assert_eq!(failed_after.decline_code.as_deref(), Some("insufficient_funds"));

    // Asked not to handle it, confirm returns requires_action and handle_next_action finishes.
    let secret = client_secret(&app, 1000, None).await;
    let params = ConfirmParams { handle_actions: false, ..with_card("4000000000003220") };
    let pending = client.confirm_payment(&secret, &params).await.unwrap();
    assert_eq!(pending.status, IntentStatus::RequiresAction);
    assert_eq!(client.handle_next_action(&secret).await.unwrap().status, IntentStatus::Captured);
    assert_eq!(client.retrieve_payment_intent(&secret).await.unwrap().status, IntentStatus::Captured);
}

#[tokio::test]
async fn a_closed_challenge_and_bad_input_are_errors_without_a_charge() {
    let app = TestApp::new().await;
    let host = RouterHost { code: None, ..RouterHost::new(&app) };
    let client = Client::new(host, app.pk(), "http://kassa.test");
    let cancelled = client.confirm_payment(&client_secret(&app, 1000, None).await, &with_card("4000002760003184")).await.unwrap_err();
    assert_eq!(cancelled.code, "AUTHENTICATION_CANCELLED");

    let sent_before = client.host().sent.borrow().len();
    let typo = client.confirm_payment(&client_secret(&app, 1000, None).await, &with_card("4242424242424241")).await.unwrap_err();
    assert_eq!((typo.kind, typo.param.as_deref()), (ErrorType::ValidationError, Some("card.number")));
    let amex_cvc = client.create_payment_method(&CardDetails { cvc: Some("123".into()), ..card("378282246310005") }).await.unwrap_err();
    assert_eq!(amex_cvc.param.as_deref(), Some("card.cvc"));
    assert_eq!(client.host().sent.borrow().len(), sent_before, "a bad card never leaves the page");

    let wrong = client.retrieve_payment_intent("pi_123_secret_nope").await.unwrap_err();
    assert_eq!((wrong.kind, wrong.code.as_str()), (ErrorType::InvalidRequestError, "NOT_FOUND"));
    let bad_key = Client::new(RouterHost::new(&app), "pk_test_wrong", "http://kassa.test");
    let token = bad_key.create_payment_method(&card("4242424242424242")).await.unwrap_err();
    assert_eq!(token.kind, ErrorType::AuthenticationError);
}

#[tokio::test]
async fn a_network_that_loses_two_answers_still_makes_exactly_one_payment() {
    let app = TestApp::new().await;
    let host = RouterHost { lose_answers: Cell::new(2), ..RouterHost::new(&app) };
    let client = Client::new(host, app.pk(), "http://kassa.test");
    let secret = client_secret(&app, 4400, None).await;
    let paid = client.confirm_payment(&secret, &with_card("4242424242424242")).await.unwrap();
    assert_eq!(paid.status, IntentStatus::Captured);
    let keys: Vec<_> =
        client.host().sent.borrow().iter().map(|r| r.headers.iter().find(|(n, _)| *n == "idempotency-key").unwrap().1.clone()).collect();
    assert_eq!(keys.len(), 3, "two lost answers, then the replay");
    assert!(keys.iter().all(|k| k == &keys[0]), "every retry reuses the key");
    assert!(client.host().slept.get() >= 200 + 400, "it backs off");
    let history = app.intent(paid.id.as_str()).await;
    let charges = history["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == "authorize").count();
    assert_eq!(charges, 1);
}

#[tokio::test]
async fn a_customer_pays_with_a_saved_card_and_removes_it() {
    let app = TestApp::new().await;
    let customer = app.post("/api/v1/customers", app.sk(), json!({ "name": "Jo" })).await.data(201)["id"].as_str().unwrap().to_owned();
    let client = Client::new(RouterHost::new(&app), app.pk(), "http://kassa.test");
    let session = app.post(&format!("/api/v1/customers/{customer}/sessions"), app.sk(), json!({})).await.data(201)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    // Saving the card needs the customer's session, which the client sends.
    let params = ConfirmParams { save_card: true, ..with_card("5555555555554444") };
    let refused = client.confirm_payment(&client_secret(&app, 1200, Some(&customer)).await, &params).await.unwrap_err();
    assert_eq!(refused.kind, ErrorType::AuthenticationError);
    let params = ConfirmParams { customer_session: Some(session.clone()), ..params };
    client.confirm_payment(&client_secret(&app, 1200, Some(&customer)).await, &params).await.unwrap();
    let saved = client.list_payment_methods(&session).await.unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].card.last4, "4444");
    let params = ConfirmParams {
        payment_method_id: Some(saved[0].id.to_string()),
        handle_actions: true,
        customer_session: Some(session.clone()),
        ..ConfirmParams::default()
    };
    let paid = client.confirm_payment(&client_secret(&app, 800, Some(&customer)).await, &params).await.unwrap();
    assert_eq!(paid.card_last4.as_deref(), Some("4444"));
    client.detach_payment_method(saved[0].id.as_str(), &session).await.unwrap();
    assert!(client.list_payment_methods(&session).await.unwrap().is_empty());
    let token = client.create_payment_method(&card("4242424242424242")).await.unwrap();
    assert!(token.id.as_str().starts_with("tok_"));
}
