//! The flows as state machines that do no I/O: a [`Flow`] says what to do next as a [`Step`] — send
//! this request, wait this long, show this 3-D Secure page, or here is the result — and is told what
//! came of it. [`super::Client`] drives one with `async` Rust; the npm package drives one from
//! JavaScript with `fetch` and timers, so its WebAssembly carries no async runtime.

use super::json::Json;
use super::{check_card, CardDetails, ChallengeError, ConfirmParams, HttpRequest, HttpResponse, KassaError, Method, TransportError};
use crate::api::{IntentStatus, LastError, NextAction};
use crate::id::{customer_of_session, intent_of_client_secret};
use crate::ErrorCode;

/// How many times a request is tried before its error is returned.
pub const ATTEMPTS: u32 = 4;
/// The wait before the second try; it doubles before each one after.
pub const FIRST_BACKOFF_MS: u32 = 200;

/// What the driver of a [`Flow`] does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<J> {
    /// Send this request, then call [`Flow::on_response`].
    Send(HttpRequest),
    /// Wait this many milliseconds, then call [`Flow::on_slept`].
    Sleep(u32),
    /// Show the bank's page, then call [`Flow::on_challenge`].
    Challenge(NextAction),
    /// The flow is over: the `data` of Kassa's last answer, or the error.
    Done(Result<J, KassaError>),
}

/// What a flow does with the `data` of a successful answer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Then {
    Return,
    /// An intent: drive its 3-D Secure step if it has one.
    Challenge,
    /// An intent re-read after its 3-D Secure step: a failed attempt is the flow's error.
    CheckFailure,
}

#[derive(Debug)]
enum State<J> {
    /// Refused before any request.
    Refused(KassaError),
    Calling {
        request: HttpRequest,
        attempt: u32,
        then: Then,
    },
    Sleeping {
        request: HttpRequest,
        attempt: u32,
        then: Then,
    },
    Challenging {
        intent: J,
    },
    Finished,
}

/// Where the flows send their requests, and with which key: the pure half of a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    publishable_key: String,
    api_base: String,
}

/// The intent a flow is about: its id, and the request that re-reads it.
#[derive(Debug, Clone)]
struct Reread {
    intent_id: String,
    request: HttpRequest,
}

/// One call of the SDK, from its first request to its result.
#[derive(Debug)]
pub struct Flow<J> {
    state: State<J>,
    /// How to re-read the intent after its 3-D Secure step (flows about an intent only).
    reread: Option<Reread>,
}

const NOT_A_CLIENT_SECRET: &str = "clientSecret is not a payment intent's client secret";
const NOT_A_SESSION: &str = "customerSession is not a customer session secret";

impl Api {
    pub fn new(publishable_key: impl Into<String>, api_base: impl Into<String>) -> Api {
        let api_base: String = api_base.into();
        Api { publishable_key: publishable_key.into(), api_base: api_base.trim_end_matches('/').to_owned() }
    }

    fn request<J: Json>(
        &self,
        method: Method,
        path: &str,
        body: Option<J>,
        idempotency_key: Option<String>,
        extra: Option<(&'static str, String)>,
    ) -> HttpRequest {
        let mut headers = vec![("authorization", format!("Bearer {}", self.publishable_key))];
        if body.is_some() {
            headers.push(("content-type", "application/json".into()));
        }
        if let Some(key) = idempotency_key {
            headers.push(("idempotency-key", key));
        }
        headers.extend(extra);
        HttpRequest { method, url: format!("{}{path}", self.api_base), headers, body: body.map(|b| b.to_text()) }
    }

    /// `GET /payments/intents/{id}` with the client secret, or the error a caller gets for a
    /// client secret that is none.
    fn reread<J: Json>(&self, client_secret: &str) -> Result<Reread, KassaError> {
        let intent_id = intent_of_client_secret(client_secret)
            .ok_or_else(|| KassaError::invalid_argument("clientSecret", NOT_A_CLIENT_SECRET))?
            .to_string();
        let request =
            self.request::<J>(Method::Get, &format!("/api/v1/payments/intents/{intent_id}?clientSecret={client_secret}"), None, None, None);
        Ok(Reread { intent_id, request })
    }

    /// `GET /payments/intents/{id}` with the client secret.
    pub fn retrieve_payment_intent<J: Json>(&self, client_secret: &str) -> Flow<J> {
        match self.reread::<J>(client_secret) {
            Ok(reread) => Flow::calling(reread.request, Then::Return, None),
            Err(error) => Flow::refused(error),
        }
    }

    /// Confirms the intent with a new or saved card; drives 3-D Secure unless told not to.
    pub fn confirm_payment<J: Json>(&self, client_secret: &str, params: &ConfirmParams, idempotency_key: String) -> Flow<J> {
        let reread = match self.reread::<J>(client_secret) {
            Ok(reread) => reread,
            Err(error) => return Flow::refused(error),
        };
        let body = match confirm_body::<J>(client_secret, params) {
            Ok(body) => body,
            Err(error) => return Flow::refused(error),
        };
        let session = match &params.customer_session {
            Some(session) if customer_of_session(session).is_none() => {
                return Flow::refused(KassaError::invalid_argument("customerSession", NOT_A_SESSION))
            }
            Some(session) => Some(("kassa-customer-session", session.clone())),
            None => None,
        };
        let path = format!("/api/v1/payments/intents/{}/confirm", reread.intent_id);
        let request = self.request(Method::Post, &path, Some(body), Some(idempotency_key), session);
        let then = if params.handle_actions { Then::Challenge } else { Then::Return };
        Flow::calling(request, then, Some(reread))
    }

    /// Drives an intent's pending 3-D Secure step (after `confirm_payment` with
    /// `handle_actions: false`, or after a page reload).
    pub fn handle_next_action<J: Json>(&self, client_secret: &str) -> Flow<J> {
        match self.reread::<J>(client_secret) {
            Ok(reread) => Flow::calling(reread.request.clone(), Then::Challenge, Some(reread)),
            Err(error) => Flow::refused(error),
        }
    }

    /// Tokenizes a card: a single-use `tok_…` the shop's server can charge.
    pub fn create_payment_method<J: Json>(&self, card: &CardDetails, idempotency_key: String) -> Flow<J> {
        if let Err(error) = check_card(card) {
            return Flow::refused(error);
        }
        let body = J::object(vec![("card", card.to_json())]);
        Flow::calling(self.request(Method::Post, "/api/v1/payment-methods", Some(body), Some(idempotency_key), None), Then::Return, None)
    }

    /// The saved cards of the customer whose session secret this is.
    pub fn list_payment_methods<J: Json>(&self, customer_session: &str) -> Flow<J> {
        self.saved_cards(Method::Get, customer_session, "", None)
    }

    /// Removes one of that customer's saved cards.
    pub fn detach_payment_method<J: Json>(&self, payment_method_id: &str, customer_session: &str, idempotency_key: String) -> Flow<J> {
        self.saved_cards(Method::Delete, customer_session, &format!("/{payment_method_id}"), Some(idempotency_key))
    }

    /// A call on `/customers/{customer}/payment-methods{rest}` with the customer's session secret.
    fn saved_cards<J: Json>(&self, method: Method, customer_session: &str, rest: &str, idempotency_key: Option<String>) -> Flow<J> {
        let Some(customer) = customer_of_session(customer_session) else {
            return Flow::refused(KassaError::invalid_argument("customerSession", NOT_A_SESSION));
        };
        let session = Some(("kassa-customer-session", customer_session.to_owned()));
        let request =
            self.request::<J>(method, &format!("/api/v1/customers/{customer}/payment-methods{rest}"), None, idempotency_key, session);
        Flow::calling(request, Then::Return, None)
    }
}

fn confirm_body<J: Json>(client_secret: &str, params: &ConfirmParams) -> Result<J, KassaError> {
    let mut body = vec![("clientSecret", J::string(client_secret)), ("saveCard", J::boolean(params.save_card))];
    match (&params.card, &params.payment_method_id) {
        (Some(card), None) => {
            check_card(card)?;
            body.push(("card", card.to_json()));
        }
        (None, Some(method)) => body.push(("paymentMethodId", J::string(method))),
        _ => return Err(KassaError::invalid_argument("card", "Pass exactly one of card or paymentMethodId")),
    }
    if let Some(url) = &params.return_url {
        body.push(("returnUrl", J::string(url)));
    }
    if let Some(tip) = params.tip_cents {
        body.push(("tipCents", J::integer(tip.get())));
    }
    if !params.frame_ancestors.is_empty() {
        body.push(("frameAncestors", J::array(params.frame_ancestors.iter().map(|origin| J::string(origin)).collect())));
    }
    Ok(J::object(body))
}

impl<J: Json> Flow<J> {
    /// A flow that ends with this error before any request (a caller's argument was wrong).
    pub fn refused(error: KassaError) -> Flow<J> {
        Flow { state: State::Refused(error), reread: None }
    }

    fn calling(request: HttpRequest, then: Then, reread: Option<Reread>) -> Flow<J> {
        Flow { state: State::Calling { request, attempt: 1, then }, reread }
    }

    fn done(&mut self, result: Result<J, KassaError>) -> Step<J> {
        self.state = State::Finished;
        Step::Done(result)
    }

    fn out_of_turn(&mut self) -> Step<J> {
        self.done(Err(KassaError::out_of_turn()))
    }

    /// The first step.
    pub fn start(&mut self) -> Step<J> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Refused(error) => Step::Done(Err(error)),
            State::Calling { request, attempt: 1, then } => {
                let step = Step::Send(request.clone());
                self.state = State::Calling { request, attempt: 1, then };
                step
            }
            _ => self.out_of_turn(),
        }
    }

    /// What came of the request the last [`Step::Send`] asked for: an answer, or none. What is
    /// safe to retry (no answer, a request still in flight under the same key, rate limits, 500
    /// and 503) is sent again after a backoff, under the same idempotency key.
    pub fn on_response(&mut self, outcome: Result<HttpResponse, TransportError>) -> Step<J> {
        let State::Calling { request, attempt, then } = std::mem::replace(&mut self.state, State::Finished) else {
            return self.out_of_turn();
        };
        let body = outcome.as_ref().ok().and_then(|response| J::parse(&response.body));
        let retry = match &outcome {
            Err(_) => true,
            Ok(response) => is_retryable(response.status, body.as_ref()),
        };
        if retry && attempt < ATTEMPTS {
            self.state = State::Sleeping { request, attempt, then };
            return Step::Sleep(FIRST_BACKOFF_MS << (attempt - 1));
        }
        let data = match outcome {
            Err(error) => Err(KassaError::connection(&error.0)),
            Ok(response) if (200..300).contains(&response.status) => {
                body.and_then(|b| b.get("data")).ok_or_else(|| KassaError::unexpected(response.status))
            }
            Ok(response) => Err(KassaError::from_body(response.status, body.as_ref())),
        };
        match data {
            Err(error) => self.done(Err(error)),
            Ok(data) => self.then(then, data),
        }
    }

    /// The wait the last [`Step::Sleep`] asked for is over.
    pub fn on_slept(&mut self) -> Step<J> {
        let State::Sleeping { request, attempt, then } = std::mem::replace(&mut self.state, State::Finished) else {
            return self.out_of_turn();
        };
        let step = Step::Send(request.clone());
        self.state = State::Calling { request, attempt: attempt + 1, then };
        step
    }

    /// How the 3-D Secure page the last [`Step::Challenge`] asked for ended.
    pub fn on_challenge(&mut self, outcome: Result<(), ChallengeError>) -> Step<J> {
        let State::Challenging { intent } = std::mem::replace(&mut self.state, State::Finished) else {
            return self.out_of_turn();
        };
        match (outcome, &self.reread) {
            (Ok(()), Some(reread)) => {
                let request = reread.request.clone();
                self.state = State::Calling { request: request.clone(), attempt: 1, then: Then::CheckFailure };
                Step::Send(request)
            }
            (Err(ChallengeError::Cancelled), reread) => {
                let error = KassaError::authentication_cancelled(reread.as_ref().map_or("", |r| r.intent_id.as_str()));
                self.done(Err(error))
            }
            // Without a screen the intent is returned as it is, for the page to finish later.
            (Err(ChallengeError::Unavailable), _) | (Ok(()), None) => self.done(Ok(intent)),
        }
    }

    fn then(&mut self, then: Then, data: J) -> Step<J> {
        match then {
            Then::Return => self.done(Ok(data)),
            Then::Challenge => match status(&data).filter(|s| *s == IntentStatus::RequiresAction).and_then(|_| next_action(&data)) {
                Some(action) => {
                    self.state = State::Challenging { intent: data };
                    Step::Challenge(action)
                }
                None => self.done(Ok(data)),
            },
            Then::CheckFailure => match failure(&data) {
                Some(error) => self.done(Err(error)),
                None => self.done(Ok(data)),
            },
        }
    }
}

fn is_retryable<J: Json>(status: u16, body: Option<&J>) -> bool {
    match status {
        429 | 500 | 503 => true,
        409 => body.and_then(|b| b.get("error")?.get("details")?.get("retryable")?.as_boolean()) == Some(true),
        _ => false,
    }
}

fn status<J: Json>(intent: &J) -> Option<IntentStatus> {
    intent.get("status")?.as_string()?.parse().ok()
}

fn next_action<J: Json>(intent: &J) -> Option<NextAction> {
    let action = intent.get("nextAction")?;
    Some(NextAction {
        kind: action.get("type")?.as_string()?,
        url: action.get("url")?.as_string()?,
        challenge_window_size: action.get("challengeWindowSize")?.as_string()?,
    })
}

/// The error an intent's last failed attempt stands for, when it has one.
pub fn failure<J: Json>(intent: &J) -> Option<KassaError> {
    let status = status(intent)?;
    let last_error = intent.get("lastError").and_then(|e| {
        Some(LastError {
            code: ErrorCode::parse(&e.get("code")?.as_string()?)?,
            decline_code: e.get("declineCode").and_then(|d| d.as_string()),
            message: e.get("message")?.as_string()?,
        })
    });
    let failed = (status == IntentStatus::RequiresPaymentMethod && last_error.is_some()) || status == IntentStatus::Declined;
    failed.then(|| KassaError::from_intent(&intent.get("id").and_then(|id| id.as_string()).unwrap_or_default(), last_error.as_ref()))
}
