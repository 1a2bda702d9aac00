//! The browser's flows: retrieve and confirm an intent, drive its 3-D Secure step, and manage a
//! customer's saved cards — with the publishable key.
//!
//! Requests are data and the transport is a [`Host`] trait, so the same flow code runs in a browser
//! (the npm package), in Node, and in native tests. Every mutating call carries an idempotency key
//! that the client reuses on its own retries, so a flaky network never charges twice.

mod error;

pub use error::{ErrorType, KassaError};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{CardToken, Data, IntentStatus, NextAction, PaymentIntent, SavedPaymentMethod};
use crate::money::MinorUnits;
use crate::card::CardNumber;
use crate::id::{customer_of_session, intent_of_client_secret};

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

/// A card as the customer typed it, sent to Kassa once to be tokenized or to pay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct CardDetails {
    pub number: String,
    pub exp_month: u32,
    pub exp_year: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

/// How to confirm: a new card or a saved one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmParams {
    #[serde(default)]
    pub card: Option<CardDetails>,
    #[serde(default)]
    pub payment_method_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    pub save_card: bool,
    #[serde(default)]
    pub return_url: Option<String>,
    /// Drive a 3-D Secure challenge to its end (the default), or return `requires_action`.
    #[serde(default = "yes")]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    pub handle_actions: bool,
    /// A tip on top of the intent's amount (a kiosk's tip screen).
    #[serde(default)]
    pub tip_cents: Option<MinorUnits>,
    /// The origins of the pages this one is framed in, which the bank's 3-D Secure page must
    /// admit (the checkout passes its shop page's origin).
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    pub frame_ancestors: Vec<String>,
}

fn yes() -> bool {
    true
}

/// How the client hands responses back: as typed structs ([`Typed`], the default), or as JSON
/// values ([`Raw`]) for a caller that passes them straight on, such as the npm package, which then
/// carries no code to decode and re-encode each type.
pub trait Wire {
    type Intent: IntentView;
    type Token: DeserializeOwned;
    type Method: DeserializeOwned;
}

/// What the flows read of an intent.
pub trait IntentView: DeserializeOwned {
    fn status(&self) -> Option<IntentStatus>;
    fn next_action(&self) -> Option<NextAction>;
    /// The error its last failed attempt stands for, when it has one.
    fn failure(&self) -> Option<KassaError>;
}

pub struct Typed;

impl Wire for Typed {
    type Intent = PaymentIntent;
    type Token = CardToken;
    type Method = SavedPaymentMethod;
}

pub struct Raw;

impl Wire for Raw {
    type Intent = Value;
    type Token = Value;
    type Method = Value;
}

impl IntentView for PaymentIntent {
    fn status(&self) -> Option<IntentStatus> {
        Some(self.status)
    }
    fn next_action(&self) -> Option<NextAction> {
        self.next_action.clone()
    }
    fn failure(&self) -> Option<KassaError> {
        let failed = (self.status == IntentStatus::RequiresPaymentMethod && self.last_error.is_some()) || self.status == IntentStatus::Declined;
        failed.then(|| KassaError::from_intent(&self.id.to_string(), self.last_error.as_ref()))
    }
}

impl IntentView for Value {
    fn status(&self) -> Option<IntentStatus> {
        self["status"].as_str()?.parse().ok()
    }
    fn next_action(&self) -> Option<NextAction> {
        serde_json::from_value(self["nextAction"].clone()).ok()
    }
    fn failure(&self) -> Option<KassaError> {
        let status = self.status()?;
        let last_error: Option<crate::api::LastError> = serde_json::from_value(self["lastError"].clone()).ok();
        let failed = (status == IntentStatus::RequiresPaymentMethod && last_error.is_some()) || status == IntentStatus::Declined;
        failed.then(|| KassaError::from_intent(self["id"].as_str().unwrap_or_default(), last_error.as_ref()))
    }
}

/// How many times a request is tried before its error is returned.
pub const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF_MS: u32 = 200;

pub struct Client<H: Host, W: Wire = Typed> {
    host: H,
    publishable_key: String,
    api_base: String,
    wire: std::marker::PhantomData<W>,
}

impl<H: Host> Client<H, Typed> {
    /// A client whose results are typed structs.
    pub fn new(host: H, publishable_key: impl Into<String>, api_base: impl Into<String>) -> Self {
        Client::with_wire(host, publishable_key.into(), api_base.into())
    }
}

impl<H: Host> Client<H, Raw> {
    /// A client whose results are JSON values, for callers that pass them straight on.
    pub fn raw(host: H, publishable_key: impl Into<String>, api_base: impl Into<String>) -> Self {
        Client::with_wire(host, publishable_key.into(), api_base.into())
    }
}

impl<H: Host, W: Wire> Client<H, W> {
    fn with_wire(host: H, publishable_key: String, api_base: String) -> Self {
        let api_base = api_base.trim_end_matches('/').to_owned();
        Client { host, publishable_key, api_base, wire: std::marker::PhantomData }
    }

    pub fn host(&self) -> &H {
        &self.host
    }

    /// Sends a request, retrying what is safe to retry (no answer, a request still in flight
    /// under the same key, rate limits, 500 and 503) with backoff, under one idempotency key.
    async fn call<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<Value>, extra: &[(&'static str, String)]) -> Result<T, KassaError> {
        let mut headers = vec![("authorization", format!("Bearer {}", self.publishable_key))];
        if body.is_some() {
            headers.push(("content-type", "application/json".into()));
        }
        if method != Method::Get {
            headers.push(("idempotency-key", self.host.idempotency_key()));
        }
        headers.extend(extra.iter().cloned());
        let request = HttpRequest { method, url: format!("{}{path}", self.api_base), headers, body: body.map(|b| b.to_string()) };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.host.send(&request).await;
            let retry = match &outcome {
                Err(_) => true,
                Ok(response) => is_retryable(response),
            };
            if retry && attempt < ATTEMPTS {
                self.host.sleep(FIRST_BACKOFF_MS << (attempt - 1)).await;
                continue;
            }
            let response = outcome.map_err(|e| KassaError::connection(&e.0))?;
            return if (200..300).contains(&response.status) {
                serde_json::from_str::<Data<T>>(&response.body).map(|d| d.data).map_err(|_| KassaError::unexpected(response.status))
            } else {
                Err(KassaError::from_response(response.status, &response.body))
            };
        }
    }

    /// `GET /payments/intents/{id}` with the client secret.
    pub async fn retrieve_payment_intent(&self, client_secret: &str) -> Result<W::Intent, KassaError> {
        let id = intent_of_client_secret(client_secret).ok_or_else(|| KassaError::invalid_argument("clientSecret", "clientSecret is not a payment intent's client secret"))?;
        self.call(Method::Get, &format!("/api/v1/payments/intents/{id}?clientSecret={client_secret}"), None, &[]).await
    }

    /// Confirms the intent with a new or saved card; drives 3-D Secure unless told not to.
    pub async fn confirm_payment(&self, client_secret: &str, params: &ConfirmParams) -> Result<W::Intent, KassaError> {
        let id = intent_of_client_secret(client_secret).ok_or_else(|| KassaError::invalid_argument("clientSecret", "clientSecret is not a payment intent's client secret"))?;
        let mut body = serde_json::json!({ "clientSecret": client_secret, "saveCard": params.save_card });
        match (&params.card, &params.payment_method_id) {
            (Some(card), None) => {
                check_card(card)?;
                body["card"] = serde_json::to_value(card).unwrap_or_default();
            }
            (None, Some(method)) => body["paymentMethodId"] = Value::String(method.clone()),
            _ => return Err(KassaError::invalid_argument("card", "Pass exactly one of card or paymentMethodId")),
        }
        if let Some(url) = &params.return_url {
            body["returnUrl"] = Value::String(url.clone());
        }
        if let Some(tip) = params.tip_cents {
            body["tipCents"] = Value::from(tip.get());
        }
        if !params.frame_ancestors.is_empty() {
            body["frameAncestors"] = serde_json::to_value(&params.frame_ancestors).unwrap_or_default();
        }
        let intent: W::Intent = self.call(Method::Post, &format!("/api/v1/payments/intents/{id}/confirm"), Some(body), &[]).await?;
        if intent.status() == Some(IntentStatus::RequiresAction) && params.handle_actions {
            return self.finish_action(client_secret, intent).await;
        }
        Ok(intent)
    }

    /// Drives an intent's pending 3-D Secure step (after `confirm_payment` with
    /// `handle_actions: false`, or after a page reload).
    pub async fn handle_next_action(&self, client_secret: &str) -> Result<W::Intent, KassaError> {
        let intent = self.retrieve_payment_intent(client_secret).await?;
        self.finish_action(client_secret, intent).await
    }

    async fn finish_action(&self, client_secret: &str, intent: W::Intent) -> Result<W::Intent, KassaError> {
        let Some(action) = intent.next_action().filter(|_| intent.status() == Some(IntentStatus::RequiresAction)) else {
            return Ok(intent);
        };
        match self.host.present_challenge(&action).await {
            Ok(()) => {}
            Err(ChallengeError::Unavailable) => return Ok(intent),
            Err(ChallengeError::Cancelled) => {
                let id = intent_of_client_secret(client_secret).map(|id| id.to_string()).unwrap_or_default();
                return Err(KassaError::authentication_cancelled(&id));
            }
        }
        let after: W::Intent = self.retrieve_payment_intent(client_secret).await?;
        match after.failure() {
            Some(error) => Err(error),
            None => Ok(after),
        }
    }

    /// Tokenizes a card: a single-use `tok_…` the shop's server can charge.
    pub async fn create_payment_method(&self, card: &CardDetails) -> Result<W::Token, KassaError> {
        check_card(card)?;
        self.call(Method::Post, "/api/v1/payment-methods", Some(serde_json::json!({ "card": card })), &[]).await
    }

    /// The saved cards of the customer whose session secret this is.
    pub async fn list_payment_methods(&self, customer_session: &str) -> Result<Vec<W::Method>, KassaError> {
        let customer = customer_of_session(customer_session).ok_or_else(|| KassaError::invalid_argument("customerSession", "customerSession is not a customer session secret"))?;
        self.call(Method::Get, &format!("/api/v1/customers/{customer}/payment-methods"), None, &[("kassa-customer-session", customer_session.to_owned())]).await
    }

    /// Removes one of that customer's saved cards.
    pub async fn detach_payment_method(&self, payment_method_id: &str, customer_session: &str) -> Result<(), KassaError> {
        let customer = customer_of_session(customer_session).ok_or_else(|| KassaError::invalid_argument("customerSession", "customerSession is not a customer session secret"))?;
        let _: Value = self
            .call(Method::Delete, &format!("/api/v1/customers/{customer}/payment-methods/{payment_method_id}"), None, &[("kassa-customer-session", customer_session.to_owned())])
            .await?;
        Ok(())
    }
}

fn is_retryable(response: &HttpResponse) -> bool {
    match response.status {
        429 | 500 | 503 => true,
        409 => serde_json::from_str::<Value>(&response.body).is_ok_and(|b| b["error"]["details"]["retryable"] == Value::Bool(true)),
        _ => false,
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
