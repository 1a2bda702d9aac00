//! The browser's flows: retrieve and confirm an intent, drive its 3-D Secure step, and manage a
//! customer's saved cards — with the publishable key.
//!
//! Each flow is a state machine that does no I/O ([`flow`]): it asks for requests, waits and
//! 3-D Secure pages as [`Step`]s, so the same flow code runs under async Rust ([`Client`], with a
//! [`Host`] for the transport: the checkout, native tests) and under JavaScript (the npm package).
//! Every mutating call carries an idempotency key that the flow reuses on its own retries, so a
//! flaky network never charges twice.

// `KassaError` is what a caller gets back, once per call; boxing it would only add an indirection.
#![allow(clippy::result_large_err)]

mod error;
pub mod flow;
#[cfg(feature = "js")]
mod js;
mod json;
mod params;

pub use error::{ErrorType, KassaError};
pub use flow::{Api, Flow, Step, ATTEMPTS};
#[cfg(feature = "js")]
pub use js::{random_key, JsJson};
pub use json::{Json, MAX_SAFE_INTEGER};
pub use params::{CardDetails, ConfirmParams};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{CardToken, NextAction, PaymentIntent, SavedPaymentMethod};
use crate::card::CardNumber;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// One HTTP request, as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

/// The request never got an answer (the network failed, or the page went offline).
#[derive(Debug, Clone, PartialEq)]
pub struct TransportError(pub String);

/// Why the 3-D Secure window did not finish.
#[derive(Debug, Clone, PartialEq)]
pub enum ChallengeError {
    /// The customer closed it.
    Cancelled,
    /// There is no screen to show it on (e.g. in Node); the intent is returned as it is.
    Unavailable,
}

/// What the flows need from the place they run in.
#[allow(async_fn_in_trait)]
pub trait Host {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
    async fn sleep(&self, millis: u32);
    /// A fresh, unguessable idempotency key.
    fn idempotency_key(&self) -> String;
    /// Shows the challenge at `action.url` and returns once the customer has finished it.
    async fn present_challenge(&self, action: &NextAction) -> Result<(), ChallengeError>;
}

/// Runs the flows with a [`Host`] and hands back typed results.
pub struct Client<H: Host> {
    host: H,
    api: Api,
}

impl<H: Host> Client<H> {
    pub fn new(host: H, publishable_key: impl Into<String>, api_base: impl Into<String>) -> Self {
        Client { host, api: Api::new(publishable_key, api_base) }
    }

    pub fn host(&self) -> &H {
        &self.host
    }

    /// Makes the flows [`Client::run`] runs, for a caller that reads the answers itself.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// A fresh idempotency key from the host, for a flow that needs one.
    pub fn idempotency_key(&self) -> String {
        self.host.idempotency_key()
    }

    /// Runs a flow to its end: the `data` of Kassa's last answer, or the error.
    pub async fn run<J: Json>(&self, mut flow: Flow<J>) -> Result<J, KassaError> {
        let mut step = flow.start();
        loop {
            step = match step {
                Step::Send(request) => flow.on_response(self.host.send(&request).await),
                Step::Sleep(millis) => {
                    self.host.sleep(millis).await;
                    flow.on_slept()
                }
                Step::Challenge(action) => flow.on_challenge(self.host.present_challenge(&action).await),
                Step::Done(result) => return result,
            };
        }
    }

    async fn run_typed<T: DeserializeOwned>(&self, flow: Flow<Value>) -> Result<T, KassaError> {
        serde_json::from_value(self.run(flow).await?).map_err(|_| KassaError::unexpected(200))
    }

    /// `GET /payments/intents/{id}` with the client secret.
    pub async fn retrieve_payment_intent(&self, client_secret: &str) -> Result<PaymentIntent, KassaError> {
        self.run_typed(self.api.retrieve_payment_intent(client_secret)).await
    }

    /// Confirms the intent with a new or saved card; drives 3-D Secure unless told not to.
    pub async fn confirm_payment(&self, client_secret: &str, params: &ConfirmParams) -> Result<PaymentIntent, KassaError> {
        self.run_typed(self.api.confirm_payment(client_secret, params, self.host.idempotency_key())).await
    }

    /// Drives an intent's pending 3-D Secure step (after `confirm_payment` with
    /// `handle_actions: false`, or after a page reload).
    pub async fn handle_next_action(&self, client_secret: &str) -> Result<PaymentIntent, KassaError> {
        self.run_typed(self.api.handle_next_action(client_secret)).await
    }

    /// Tokenizes a card: a single-use `tok_…` the shop's server can charge.
    pub async fn create_payment_method(&self, card: &CardDetails) -> Result<CardToken, KassaError> {
        self.run_typed(self.api.create_payment_method(card, self.host.idempotency_key())).await
    }

    /// The saved cards of the customer whose session secret this is.
    pub async fn list_payment_methods(&self, customer_session: &str) -> Result<Vec<SavedPaymentMethod>, KassaError> {
        self.run_typed(self.api.list_payment_methods(customer_session)).await
    }

    /// Removes one of that customer's saved cards.
    pub async fn detach_payment_method(&self, payment_method_id: &str, customer_session: &str) -> Result<(), KassaError> {
        self.run::<Value>(self.api.detach_payment_method(payment_method_id, customer_session, self.host.idempotency_key())).await.map(drop)
    }
}

/// Checks a card before it leaves the page, so a typo costs no round trip.
fn check_card(card: &CardDetails) -> Result<(), KassaError> {
    let number = CardNumber::parse(&card.number).map_err(|e| KassaError::invalid_argument("card.number", &e.to_string()))?;
    if let Some(cvc) = &card.cvc {
        crate::card::Cvc::parse(cvc)
            .and_then(|c| c.check_for(number.brand()))
            .map_err(|e| KassaError::invalid_argument("card.cvc", &e.to_string()))?;
    }
    if !(1..=12).contains(&card.exp_month) {
        return Err(KassaError::invalid_argument("card.expMonth", "expiry month must be between 1 and 12"));
    }
    Ok(())
}
