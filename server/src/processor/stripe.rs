//! The Stripe connector: Kassa's processor calls as Stripe's REST API calls.
//!
//! A card becomes a PaymentMethod (`pm_…`, Kassa's processor token). An authorization opens a
//! PaymentIntent first (no money moves; its id is recorded before anything else happens) and then
//! confirms it, so a confirmation whose answer is lost can be looked up by that id. Every call that
//! may move money carries an `Idempotency-Key` derived from Kassa's claim, and the API version is
//! pinned so Stripe's answers keep their shape.
//!
//! Stripe's statuses map onto Kassa's outcomes: `requires_capture` and `succeeded` are approvals,
//! `requires_action` a 3-D Secure challenge, `requires_payment_method` after a confirmation a
//! decline, `processing` an outcome not known yet. Stripe's card errors keep their `decline_code`.
//!
//! Stripe runs a 3-D Secure challenge on its own page. Every confirmation names Kassa's return
//! address, so Stripe answers `requires_action` with `next_action.redirect_to_url`: Kassa's
//! challenge window sends the cardholder there, Stripe sends them back to Kassa's return address
//! with the PaymentIntent's id and client secret, and Kassa reads from Stripe how it ended.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::{AuthorizeCall, CallKind, CardData, ChallengeSite, Lookup, Outcome, Processor, ProcessorError, Reply, TokenizedCard};

/// Stripe's public API.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// The API version every request names, so a change of the account's default version changes
/// nothing here.
pub const API_VERSION: &str = "2024-06-20";
/// Replies larger than this are not read.
const MAX_REPLY_BYTES: usize = 1024 * 1024;
/// The metadata key that names the Kassa call a PaymentIntent or Refund was made for.
pub const CALL_KEY: &str = "kassa_call";
/// The metadata key that names the Kassa payment a PaymentIntent was opened for.
pub const PAYMENT_KEY: &str = "kassa_payment";

/// Where Stripe's 3-D Secure pages are, for a page that frames them.
const CHALLENGE_ORIGIN: &str = "https://hooks.stripe.com";

/// The origins a challenge window may show Stripe's pages from: Stripe's, and the API's own when
/// it is a Stripe-compatible server elsewhere (which serves its challenge pages itself).
pub fn challenge_origins(api_base: &str) -> Vec<String> {
    let mut origins = vec![CHALLENGE_ORIGIN.to_owned()];
    let api_origin = api_base.parse::<hyper::Uri>().ok().and_then(|uri| Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?)));
    if let Some(origin) = api_origin.filter(|o| o != DEFAULT_API_BASE && o.bytes().all(|b| b.is_ascii_graphic() && b != b';' && b != b','))
    {
        origins.push(origin);
    }
    origins
}

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// One HTTP(S) client for every merchant's connector (it pools connections per host).
pub fn http_client() -> HttpClient {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    http.set_nodelay(true);
    http.enforce_http(false);
    let roots = Arc::new(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() });
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
    Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector)
}

pub struct StripeProcessor {
    api_base: String,
    secret_key: String,
    client: HttpClient,
}

/// A form body, in Stripe's bracket notation (`card[number]=…`).
type Form<'a> = Vec<(&'a str, String)>;

impl StripeProcessor {
    pub fn new(api_base: &str, secret_key: &str, client: HttpClient) -> StripeProcessor {
        StripeProcessor { api_base: api_base.trim_end_matches('/').to_owned(), secret_key: secret_key.to_owned(), client }
    }

    /// One request. A reply of 2xx is `Ok(body)`; 402 (a card error) is `Ok` too, for the
    /// caller to read as a decline; anything else is the error it stands for. A request that may
    /// have reached Stripe without an answer back is a timeout: its outcome is unknown.
    async fn send(
        &self,
        method: Method,
        path: &str,
        form: &Form<'_>,
        idempotency_key: Option<&str>,
    ) -> Result<(StatusCode, Value), ProcessorError> {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str()))).finish();
        let (uri, body) = if method == Method::GET {
            let query = if body.is_empty() { String::new() } else { format!("?{body}") };
            (format!("{}{path}{query}", self.api_base), String::new())
        } else {
            (format!("{}{path}", self.api_base), body)
        };
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(&uri)
            .header("authorization", format!("Bearer {}", self.secret_key))
            .header("stripe-version", API_VERSION)
            .header("user-agent", concat!("Kassa/", env!("CARGO_PKG_VERSION")))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let request =
            request.body(Full::new(Bytes::from(body))).map_err(|_| failed("invalid_request", "The Stripe API address is not valid"))?;
        let response = match self.client.request(request).await {
            Ok(response) => response,
            // Never connected: the request did not reach Stripe, so it did nothing.
            Err(e) if e.is_connect() => return Err(failed("api_connection_error", "Stripe could not be reached")),
            Err(_) => return Err(ProcessorError::Timeout),
        };
        let status = response.status();
        let bytes = http_body_util::Limited::new(response.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await
            .map_err(|_| ProcessorError::Timeout)?
            .to_bytes();
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        match status.as_u16() {
            200..=299 | 402 => Ok((status, json)),
            // Stripe's own failures, and a request with this key still running: what happened is
            // not known yet.
            409 | 429 | 500..=599 => Err(ProcessorError::Timeout),
            401 | 403 => Err(failed("authentication_error", "Stripe refused this merchant's secret key")),
            _ => {
                let error = &json["error"];
                let code = error["code"].as_str().unwrap_or("invalid_request_error");
                let message = error["message"].as_str().unwrap_or("Stripe refused the request");
                Err(failed(code, &format!("Stripe: {message}")))
            }
        }
    }

    /// Checks that Stripe takes the secret key (reads the account's balance, which changes
    /// nothing).
    pub async fn check_key(&self) -> Result<(), ProcessorError> {
        self.send(Method::GET, "/v1/balance", &Vec::new(), None).await.map(|_| ())
    }

    /// A PaymentIntent, with its latest charge (whose card checks Kassa reports).
    async fn payment_intent(&self, id: &str) -> Result<Value, ProcessorError> {
        Ok(self.send(Method::GET, &format!("/v1/payment_intents/{}", path_part(id)?), &with_charge(), None).await?.1)
    }

    /// Creates the PaymentIntent an authorization confirms; nothing is charged yet.
    async fn open_payment(&self, call: &AuthorizeCall<'_>) -> Result<String, ProcessorError> {
        let form: Form = vec![
            ("amount", call.amount_cents.to_string()),
            ("currency", call.currency.code().to_ascii_lowercase()),
            ("payment_method", call.processor_token.to_owned()),
            ("payment_method_types[0]", "card".into()),
            ("capture_method", if call.capture { "automatic" } else { "manual" }.into()),
            ("metadata[kassa_call]", call.idempotency_key.to_owned()),
            ("metadata[kassa_payment]", call.payment_id.to_owned()),
        ];
        let (status, pi) = self.send(Method::POST, "/v1/payment_intents", &form, Some(&format!("{}.open", call.idempotency_key))).await?;
        match pi["id"].as_str() {
            Some(id) if status.is_success() => Ok(id.to_owned()),
            _ => Err(card_error(&pi).err().unwrap_or_else(|| failed("invalid_response", "Stripe did not return a PaymentIntent"))),
        }
    }

    /// The refunds made under a call key on a PaymentIntent.
    async fn refund_for(&self, payment_intent: &str, key: &str) -> Result<Option<Value>, ProcessorError> {
        let form: Form = vec![("payment_intent", payment_intent.to_owned()), ("limit", "100".into())];
        let (_, list) = self.send(Method::GET, "/v1/refunds", &form, None).await?;
        Ok(list["data"].as_array().and_then(|refunds| refunds.iter().find(|r| r["metadata"][CALL_KEY].as_str() == Some(key)).cloned()))
    }

    async fn create_refund(&self, payment_intent: &str, amount_cents: Option<i64>, key: &str) -> Result<Reply, ProcessorError> {
        let mut form: Form = vec![("payment_intent", payment_intent.to_owned()), ("metadata[kassa_call]", key.to_owned())];
        if let Some(amount) = amount_cents {
            form.push(("amount", amount.to_string()));
        }
        let (status, refund) = self.send(Method::POST, "/v1/refunds", &form, Some(key)).await?;
        if !status.is_success() {
            return card_error(&refund);
        }
        refund_reply(&refund)
    }
}

/// Asks Stripe to expand a PaymentIntent's latest charge in its answer.
fn with_charge<'a>() -> Form<'a> {
    vec![("expand[0]", "latest_charge".into())]
}

/// An id as one segment of a path: Stripe's ids are letters, digits and underscores.
fn path_part(id: &str) -> Result<&str, ProcessorError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(failed("resource_missing", "This payment has no Stripe reference"))
    }
}

fn failed(code: &str, text: &str) -> ProcessorError {
    ProcessorError::Failed { code: code.into(), text: text.into() }
}

fn approval(reference: &str, code: &str, text: &str) -> Reply {
    Reply {
        outcome: Outcome::Approved,
        response_code: code.into(),
        response_text: text.into(),
        reference: reference.into(),
        auth_code: None,
        avs_response: None,
        cvv_response: None,
    }
}

fn declined(reference: &str, decline_code: &str, text: &str) -> Reply {
    Reply { outcome: Outcome::Declined { decline_code: decline_code.into() }, ..approval(reference, decline_code, text) }
}

/// Stripe's decline codes are Kassa's (both follow the card networks' names); an error code that
/// is itself a decline reason (`expired_card`, `incorrect_cvc`) stands for one.
fn decline_code(error: &Value) -> String {
    let code = error["code"].as_str().unwrap_or_default();
    match error["decline_code"].as_str() {
        Some(decline) if !decline.is_empty() => decline.to_owned(),
        _ if matches!(
            code,
            "expired_card"
                | "incorrect_cvc"
                | "incorrect_number"
                | "invalid_cvc"
                | "invalid_expiry_month"
                | "invalid_expiry_year"
                | "authentication_required"
        ) =>
        {
            code.to_owned()
        }
        _ if code == "payment_intent_authentication_failure" => "authentication_failed".into(),
        _ => "generic_decline".into(),
    }
}

/// A 402 (or a failed attempt on a PaymentIntent) as Kassa's outcome.
fn card_error(body: &Value) -> Result<Reply, ProcessorError> {
    let error = &body["error"];
    let code = error["code"].as_str().unwrap_or_default();
    if code == "processing_error" {
        return Err(failed("processing_error", "Stripe: an error occurred while processing the card"));
    }
    let reference = error["payment_intent"]["id"].as_str().or(error["charge"].as_str()).unwrap_or_default();
    let text = error["message"].as_str().unwrap_or("Your card was declined.");
    Ok(declined(reference, &decline_code(error), text))
}

/// The id of a field that Stripe gives as an id or, expanded, as the object.
fn id_of(field: &Value) -> Option<&str> {
    field.as_str().or_else(|| field["id"].as_str())
}

/// A PaymentIntent after a confirmation, as the outcome of the authorization, with what the issuer
/// said of the card's checks.
pub(crate) fn authorization(pi: &Value) -> Result<Reply, ProcessorError> {
    outcome(pi).map(|reply| with_checks(reply, &pi["latest_charge"]))
}

/// The card checks of a Stripe charge (when expanded) in the card networks' codes Kassa reports,
/// as the sandbox does, and the issuer's authorization code.
fn with_checks(reply: Reply, charge: &Value) -> Reply {
    let checks = &charge["payment_method_details"]["card"]["checks"];
    let avs = match (checks["address_line1_check"].as_str(), checks["address_postal_code_check"].as_str()) {
        (None, None) => None,
        (Some("pass"), Some("pass")) => Some("Y"),
        (_, Some("pass")) => Some("Z"),
        (Some("pass"), _) => Some("A"),
        (Some("fail"), _) | (_, Some("fail")) => Some("N"),
        _ => Some("U"),
    };
    let cvv = checks["cvc_check"].as_str().map(|check| match check {
        "pass" => "M",
        "fail" => "N",
        "unchecked" => "P",
        _ => "U",
    });
    Reply {
        avs_response: avs.map(str::to_owned),
        cvv_response: cvv.map(str::to_owned),
        auth_code: charge["authorization_code"].as_str().filter(|c| !c.is_empty()).map(str::to_owned),
        ..reply
    }
}

/// What a PaymentIntent's status means for the authorization.
fn outcome(pi: &Value) -> Result<Reply, ProcessorError> {
    let id = pi["id"].as_str().unwrap_or_default();
    match pi["status"].as_str().unwrap_or_default() {
        "requires_capture" => Ok(approval(id, "requires_capture", "Authorized by Stripe")),
        "succeeded" => Ok(approval(id, "succeeded", "Paid through Stripe")),
        "requires_action" if challenge_url(pi).is_some() => Ok(Reply {
            outcome: Outcome::ChallengeRequired,
            ..approval(id, "requires_action", "Stripe asks for 3-D Secure authentication")
        }),
        "requires_action" => Err(no_challenge_page(pi)),
        "requires_payment_method" if !pi["last_payment_error"].is_null() => {
            card_error(&serde_json::json!({ "error": pi["last_payment_error"] })).map(|reply| Reply { reference: id.into(), ..reply })
        }
        "processing" => Err(ProcessorError::Timeout),
        "canceled" => Ok(declined(id, "canceled", "The Stripe PaymentIntent was canceled")),
        other => Err(failed("unexpected_status", &format!("Stripe left the PaymentIntent {other}"))),
    }
}

/// The page where Stripe runs the cardholder's challenge.
fn challenge_url(pi: &Value) -> Option<&str> {
    let action = &pi["next_action"];
    (action["type"] == "redirect_to_url")
        .then(|| action["redirect_to_url"]["url"].as_str())
        .flatten()
        .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
}

/// Stripe asks for an action Kassa cannot take: one meant for Stripe.js (`use_stripe_sdk`), which
/// it asks for when a confirmation names no return address.
fn no_challenge_page(pi: &Value) -> ProcessorError {
    let kind = pi["next_action"]["type"].as_str().unwrap_or("none");
    failed("authentication_unsupported", &format!("Stripe asks for 3-D Secure through `{kind}`, not a page Kassa can send the cardholder to (the confirmation needs Kassa's public address)"))
}

/// How the authentication of a PaymentIntent that asked for it ended; `None` while the
/// cardholder has not answered Stripe's page.
fn authentication(pi: &Value) -> Option<Reply> {
    let id = pi["id"].as_str().unwrap_or_default();
    match pi["status"].as_str() {
        Some("requires_action") => None,
        Some("requires_payment_method") if pi["last_payment_error"]["code"] == "payment_intent_authentication_failure" => {
            Some(declined(id, "authentication_failed", "Not authenticated"))
        }
        // Stripe went on to the charge (which may have been declined: the authorization reads that).
        _ => Some(approval(id, "Y", "Authenticated")),
    }
}

/// Where the challenge of a PaymentIntent stands: answered, or waiting on Stripe's page.
fn site_of(pi: &Value) -> Result<ChallengeSite, ProcessorError> {
    match authentication(pi) {
        Some(reply) => Ok(ChallengeSite::Answered(reply)),
        None => challenge_url(pi).map(|url| ChallengeSite::Processor { url: url.to_owned() }).ok_or_else(|| no_challenge_page(pi)),
    }
}

/// A refund as Kassa's outcome. One Stripe has not finished (`pending`) is not known yet: it stays
/// open until Stripe's webhook or the reconciler says how it ended.
pub(crate) fn refund_reply(refund: &Value) -> Result<Reply, ProcessorError> {
    let id = refund["id"].as_str().unwrap_or_default();
    match refund["status"].as_str().unwrap_or_default() {
        "failed" | "canceled" => Ok(declined(id, "refund_failed", refund["failure_reason"].as_str().unwrap_or("Stripe could not refund"))),
        "succeeded" => Ok(approval(id, "succeeded", "Refunded through Stripe")),
        _ => Err(ProcessorError::Timeout),
    }
}

#[async_trait]
impl Processor for StripeProcessor {
    async fn tokenize(&self, card: &CardData<'_>) -> Result<TokenizedCard, ProcessorError> {
        let mut form: Form = vec![
            ("type", "card".into()),
            ("card[number]", card.number.expose().to_owned()),
            ("card[exp_month]", card.expiry.month.to_string()),
            ("card[exp_year]", card.expiry.year.to_string()),
        ];
        if let Some(cvc) = card.cvc {
            form.push(("card[cvc]", cvc.expose().to_owned()));
        }
        if let Some(postal_code) = card.postal_code.filter(|p| !p.trim().is_empty()) {
            form.push(("billing_details[address][postal_code]", postal_code.to_owned()));
        }
        let (status, method) = self.send(Method::POST, "/v1/payment_methods", &form, None).await?;
        match (method["id"].as_str(), status.is_success()) {
            (Some(id), true) => Ok(TokenizedCard {
                processor_token: id.to_owned(),
                fingerprint: method["card"]["fingerprint"].as_str().unwrap_or_default().to_owned(),
            }),
            _ => {
                let text = method["error"]["message"].as_str().unwrap_or("Stripe refused the card");
                Err(failed(method["error"]["code"].as_str().unwrap_or("card_error"), &format!("Stripe: {text}")))
            }
        }
    }

    async fn open(&self, call: &AuthorizeCall<'_>) -> Result<Option<String>, ProcessorError> {
        // A call sent again after its first try opened the PaymentIntent and got no further goes
        // on with that one (Stripe's idempotency key would give it back too, for a day).
        if let Some(reference) = call.reference.filter(|r| path_part(r).is_ok()) {
            let pi = self.payment_intent(reference).await?;
            if pi["metadata"][CALL_KEY].as_str() == Some(call.idempotency_key) && pi["status"] == "requires_confirmation" {
                return Ok(Some(reference.to_owned()));
            }
        }
        self.open_payment(call).await.map(Some)
    }

    async fn authorize(&self, call: &AuthorizeCall<'_>) -> Result<Reply, ProcessorError> {
        let opened;
        let id = match call.reference {
            Some(reference) => reference,
            None => {
                opened = self.open_payment(call).await?;
                &opened
            }
        };
        if call.authenticated {
            // The challenge is over: the PaymentIntent says how it ended.
            return authorization(&self.payment_intent(id).await?);
        }
        let mut form = with_charge();
        form.extend(call.return_url.map(|url| ("return_url", url.to_owned())));
        let (status, body) =
            self.send(Method::POST, &format!("/v1/payment_intents/{}/confirm", path_part(id)?), &form, Some(call.idempotency_key)).await?;
        if status.is_success() {
            authorization(&body)
        } else {
            card_error(&body).map(|reply| Reply { reference: id.to_owned(), ..reply })
        }
    }

    async fn challenge_site(&self, reference: Option<&str>) -> Result<ChallengeSite, ProcessorError> {
        site_of(&self.payment_intent(path_part(reference.unwrap_or_default())?).await?)
    }

    /// Stripe sends the cardholder back with the PaymentIntent's id and client secret, which only
    /// Stripe and the browser it sent back know; both must match this payment's PaymentIntent.
    async fn challenge_returned(
        &self,
        reference: Option<&str>,
        query: &[(String, String)],
    ) -> Result<Option<ChallengeSite>, ProcessorError> {
        use subtle::ConstantTimeEq;
        let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default();
        let Some(reference) = reference.filter(|r| path_part(r).is_ok() && *r == param("payment_intent")) else { return Ok(None) };
        let pi = self.payment_intent(reference).await?;
        let secret = pi["client_secret"].as_str().unwrap_or_default();
        if secret.is_empty() || !bool::from(secret.as_bytes().ct_eq(param("payment_intent_client_secret").as_bytes())) {
            return Ok(None);
        }
        site_of(&pi).map(Some)
    }

    /// Stripe's challenge is answered on Stripe's page, never with a code typed at Kassa.
    async fn authenticate(
        &self,
        _reference: Option<&str>,
        _processor_token: &str,
        _code: &str,
        _key: &str,
    ) -> Result<Reply, ProcessorError> {
        Err(ProcessorError::Refused {
            text: "Stripe runs the 3-D Secure challenge on its own page; the cardholder answers it there".into(),
        })
    }

    async fn capture(&self, reference: &str, amount_cents: i64, key: &str) -> Result<Reply, ProcessorError> {
        let form: Form = vec![("amount_to_capture", amount_cents.to_string())];
        let (status, pi) =
            self.send(Method::POST, &format!("/v1/payment_intents/{}/capture", path_part(reference)?), &form, Some(key)).await?;
        if !status.is_success() {
            return card_error(&pi);
        }
        let charge = id_of(&pi["latest_charge"]).unwrap_or(reference);
        Ok(approval(charge, "succeeded", "Captured by Stripe"))
    }

    /// Cancels an authorization; a payment already captured is refunded in full (Stripe has no
    /// void of a capture).
    async fn void(&self, reference: &str, key: &str) -> Result<Reply, ProcessorError> {
        let pi = self.payment_intent(reference).await?;
        if pi["status"].as_str() == Some("succeeded") {
            return self.create_refund(reference, None, key).await;
        }
        let (status, canceled) =
            self.send(Method::POST, &format!("/v1/payment_intents/{}/cancel", path_part(reference)?), &Vec::new(), Some(key)).await?;
        if !status.is_success() {
            return card_error(&canceled);
        }
        Ok(approval(reference, "canceled", "Authorization released by Stripe"))
    }

    async fn refund(&self, reference: &str, amount_cents: i64, key: &str) -> Result<Reply, ProcessorError> {
        self.create_refund(path_part(reference)?, Some(amount_cents), key).await
    }

    /// Stripe captures at most what it authorized, and never changes a captured amount: a tip fits
    /// only inside the authorization, before capture. It is then taken by the capture, and needs
    /// no call of its own.
    async fn adjust_tip(
        &self,
        reference: &str,
        tip_cents: i64,
        total_cents: i64,
        _authorized_cents: i64,
        _key: &str,
    ) -> Result<Reply, ProcessorError> {
        // Stripe's own record of what it authorized is the one its rule applies to.
        let pi = self.payment_intent(reference).await?;
        let authorized = pi["amount_capturable"].as_i64().filter(|a| *a > 0).or(pi["amount"].as_i64()).unwrap_or(0);
        match pi["status"].as_str().unwrap_or_default() {
            "requires_capture" if total_cents <= authorized => Ok(approval(reference, "requires_capture", &format!("Tip of {tip_cents} to be captured"))),
            "requires_capture" => Err(ProcessorError::Refused {
                text: format!("Stripe captures at most the {authorized} it authorized; a tip of {tip_cents} makes {total_cents}. Authorize the tip with the payment, or charge it separately"),
            }),
            _ => Err(ProcessorError::Refused {
                text: "Stripe cannot change the amount of a captured payment; refund the difference, or charge the tip separately".into(),
            }),
        }
    }

    async fn lookup(&self, call: &Lookup<'_>) -> Result<Option<Reply>, ProcessorError> {
        let Some(reference) = call.reference.filter(|r| path_part(r).is_ok()) else { return Ok(None) };
        match call.step {
            CallKind::Authorize => {
                let pi = self.payment_intent(reference).await?;
                // Opened for another call (an earlier attempt on the same payment): this one
                // never reached Stripe.
                if !call.continues && pi["metadata"][CALL_KEY].as_str() != Some(call.idempotency_key) {
                    return Ok(None);
                }
                match pi["status"].as_str() {
                    Some("requires_confirmation") => Ok(None),
                    // Still waiting on the cardholder: the authorization after the challenge did
                    // not happen.
                    Some("requires_action") if call.continues => Ok(None),
                    Some("requires_payment_method") if pi["last_payment_error"].is_null() => Ok(None),
                    _ => authorization(&pi).map(Some),
                }
            }
            CallKind::Authenticate => Ok(authentication(&self.payment_intent(reference).await?)),
            CallKind::Capture => {
                let pi = self.payment_intent(reference).await?;
                Ok((pi["status"].as_str() == Some("succeeded"))
                    .then(|| approval(id_of(&pi["latest_charge"]).unwrap_or(reference), "succeeded", "Captured by Stripe")))
            }
            CallKind::Void => {
                if let Some(refund) = self.refund_for(reference, call.idempotency_key).await? {
                    return refund_reply(&refund).map(Some);
                }
                let pi = self.payment_intent(reference).await?;
                Ok((pi["status"].as_str() == Some("canceled")).then(|| approval(reference, "canceled", "Authorization released by Stripe")))
            }
            CallKind::Refund => self.refund_for(reference, call.idempotency_key).await?.map(|r| refund_reply(&r)).transpose(),
            // A tip makes no call at Stripe; asking again gives the same answer.
            CallKind::Tip => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_map_onto_outcomes() {
        let reply = authorization(&json!({ "id": "pi_1", "status": "requires_capture" })).unwrap();
        assert_eq!((reply.outcome, reply.reference.as_str()), (Outcome::Approved, "pi_1"));
        let challenge = json!({ "id": "pi_1", "status": "requires_action",
                                "next_action": { "type": "redirect_to_url", "redirect_to_url": { "url": "https://hooks.stripe.com/3d_secure_2/hosted?x=1" } } });
        assert_eq!(authorization(&challenge).unwrap().outcome, Outcome::ChallengeRequired);
        assert!(authentication(&challenge).is_none(), "not answered yet");
        // An action for Stripe.js, which Kassa cannot take, is a failure and not a challenge.
        let for_stripe_js = json!({ "id": "pi_1", "status": "requires_action", "next_action": { "type": "use_stripe_sdk" } });
        assert!(matches!(authorization(&for_stripe_js), Err(ProcessorError::Failed { code, .. }) if code == "authentication_unsupported"));
        assert!(matches!(authorization(&json!({ "id": "pi_1", "status": "processing" })), Err(ProcessorError::Timeout)));
        let failed = json!({ "id": "pi_2", "status": "requires_payment_method",
                             "last_payment_error": { "code": "card_declined", "decline_code": "insufficient_funds", "message": "no" } });
        let reply = authorization(&failed).unwrap();
        assert_eq!(reply.outcome, Outcome::Declined { decline_code: "insufficient_funds".into() });
        assert_eq!(reply.reference, "pi_2");
    }

    #[test]
    fn a_challenge_ends_as_stripe_left_the_payment_intent() {
        let failed = json!({ "id": "pi_3", "status": "requires_payment_method", "last_payment_error": { "code": "payment_intent_authentication_failure" } });
        assert_eq!(authentication(&failed).unwrap().outcome, Outcome::Declined { decline_code: "authentication_failed".into() });
        for status in ["requires_capture", "succeeded", "processing"] {
            assert_eq!(authentication(&json!({ "id": "pi_3", "status": status })).unwrap().outcome, Outcome::Approved, "{status}");
        }
        // Authenticated, then declined by the issuer: the authorization reads the decline.
        let declined = json!({ "id": "pi_3", "status": "requires_payment_method", "last_payment_error": { "code": "card_declined", "decline_code": "insufficient_funds" } });
        assert_eq!(authentication(&declined).unwrap().outcome, Outcome::Approved);
    }

    #[test]
    fn the_charge_s_card_checks_become_network_codes() {
        let pi = |checks: Value| {
            json!({ "id": "pi_4", "status": "succeeded", "latest_charge": {
            "id": "ch_4", "authorization_code": "123456", "payment_method_details": { "card": { "checks": checks } } } })
        };
        let reply =
            authorization(&pi(json!({ "address_line1_check": null, "address_postal_code_check": "pass", "cvc_check": "pass" }))).unwrap();
        assert_eq!(
            (reply.avs_response.as_deref(), reply.cvv_response.as_deref(), reply.auth_code.as_deref()),
            (Some("Z"), Some("M"), Some("123456"))
        );
        let reply =
            authorization(&pi(json!({ "address_line1_check": "pass", "address_postal_code_check": "fail", "cvc_check": "fail" }))).unwrap();
        assert_eq!((reply.avs_response.as_deref(), reply.cvv_response.as_deref()), (Some("A"), Some("N")));
        let reply = authorization(&pi(json!({ "address_postal_code_check": "unavailable", "cvc_check": "unchecked" }))).unwrap();
        assert_eq!((reply.avs_response.as_deref(), reply.cvv_response.as_deref()), (Some("U"), Some("P")));
        // A charge given as an id (not expanded) says nothing of its checks.
        let reply = authorization(&json!({ "id": "pi_4", "status": "succeeded", "latest_charge": "ch_4" })).unwrap();
        assert_eq!((reply.avs_response, reply.cvv_response, reply.auth_code), (None, None, None));
    }

    #[test]
    fn card_errors_keep_their_decline_codes() {
        let decline = |error: Value| card_error(&json!({ "error": error })).unwrap().outcome;
        assert_eq!(decline(json!({ "code": "card_declined" })), Outcome::Declined { decline_code: "generic_decline".into() });
        assert_eq!(
            decline(json!({ "code": "card_declined", "decline_code": "stolen_card" })),
            Outcome::Declined { decline_code: "stolen_card".into() }
        );
        assert_eq!(decline(json!({ "code": "expired_card" })), Outcome::Declined { decline_code: "expired_card".into() });
        assert!(card_error(&json!({ "error": { "code": "processing_error" } })).is_err());
    }

    #[test]
    fn a_challenge_window_may_show_stripe_s_pages_and_a_stand_in_s() {
        assert_eq!(challenge_origins(DEFAULT_API_BASE), ["https://hooks.stripe.com"]);
        assert_eq!(challenge_origins("http://127.0.0.1:8420/"), ["https://hooks.stripe.com", "http://127.0.0.1:8420"]);
        assert_eq!(challenge_origins("http://evil; script-src *"), ["https://hooks.stripe.com"], "nothing that could change a policy");
    }

    #[test]
    fn only_stripe_ids_go_into_paths() {
        assert!(path_part("pi_3Abc").is_ok());
        assert!(path_part("pi_1/../../v1/charges").is_err());
        assert!(path_part("").is_err());
    }
}
