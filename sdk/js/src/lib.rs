//! The WebAssembly core of the `kassa` npm package: the client flows and the card, money and
//! webhook helpers. The hand-written loader (`js/index.js`) hands in the host functions — fetch,
//! timers, random keys and the 3-D Secure modal — and speaks JSON across the boundary.

use std::rc::Rc;

use js_sys::{Promise, Reflect};
use kassa::card::{CardBrand, CardNumber};
use kassa::client::{CardDetails, ChallengeError, Client, ConfirmParams, Host, HttpRequest, HttpResponse, KassaError, Raw, TransportError};
use kassa::api::NextAction;
use kassa::Currency;
use serde::Serialize;
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

#[wasm_bindgen]
extern "C" {
    /// What the loader provides: `fetch(method, url, headersJson, body) → {status, body}`,
    /// `sleep(ms)`, `idempotencyKey()`, and `presentChallenge(url, windowSize)` resolving to
    /// `"completed"`, `"cancelled"` or `"unavailable"`.
    pub type HostFunctions;

    #[wasm_bindgen(method, catch)]
    fn fetch(this: &HostFunctions, method: &str, url: &str, headers: &str, body: Option<String>) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method)]
    fn sleep(this: &HostFunctions, millis: u32) -> Promise;
    #[wasm_bindgen(method, js_name = idempotencyKey)]
    fn idempotency_key(this: &HostFunctions) -> String;
    #[wasm_bindgen(method, catch, js_name = presentChallenge)]
    fn present_challenge(this: &HostFunctions, url: &str, window_size: &str) -> Result<Promise, JsValue>;
}

fn describe(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

struct JsHost(HostFunctions);

impl Host for JsHost {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let headers: Vec<(&str, &str)> = request.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let headers = serde_json::to_string(&headers).unwrap_or_default();
        let promise = self.0.fetch(request.method.as_str(), &request.url, &headers, request.body.clone()).map_err(|e| TransportError(describe(&e)))?;
        let answer = JsFuture::from(promise).await.map_err(|e| TransportError(describe(&e)))?;
        let status = Reflect::get(&answer, &"status".into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u16;
        let body = Reflect::get(&answer, &"body".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
        Ok(HttpResponse { status, body })
    }

    async fn sleep(&self, millis: u32) {
        let _ = JsFuture::from(self.0.sleep(millis)).await;
    }

    fn idempotency_key(&self) -> String {
        self.0.idempotency_key()
    }

    async fn present_challenge(&self, action: &NextAction) -> Result<(), ChallengeError> {
        let promise = self.0.present_challenge(&action.url, &action.challenge_window_size).map_err(|_| ChallengeError::Unavailable)?;
        match JsFuture::from(promise).await.ok().and_then(|v| v.as_string()).as_deref() {
            Some("completed") => Ok(()),
            Some("cancelled") => Err(ChallengeError::Cancelled),
            _ => Err(ChallengeError::Unavailable),
        }
    }
}

/// `{"<name>": value}` or `{"error": …}`, as JSON text for the loader to parse.
fn outcome<T: Serialize>(name: &str, result: Result<T, KassaError>) -> Result<JsValue, JsValue> {
    let value = match result {
        Ok(value) => json!({ name: value }),
        Err(error) => json!({ "error": error }),
    };
    Ok(JsValue::from_str(&value.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(param: &str, json: &str) -> Result<T, KassaError> {
    serde_json::from_str(json).map_err(|e| KassaError::invalid_argument(param, &format!("{param}: {e}")))
}

/// The client a loaded `Kassa` object wraps.
#[wasm_bindgen]
pub struct KassaClient {
    inner: Rc<Client<JsHost, Raw>>,
}

#[wasm_bindgen]
impl KassaClient {
    #[wasm_bindgen(constructor)]
    pub fn new(publishable_key: String, api_base: String, host: HostFunctions) -> KassaClient {
        KassaClient { inner: Rc::new(Client::raw(JsHost(host), publishable_key, api_base)) }
    }

    #[wasm_bindgen(js_name = confirmPayment)]
    pub fn confirm_payment(&self, client_secret: String, params: String) -> Promise {
        let client = self.inner.clone();
        future_to_promise(async move {
            let result = match parse::<ConfirmParams>("params", &params) {
                Ok(params) => client.confirm_payment(&client_secret, &params).await,
                Err(e) => Err(e),
            };
            outcome("paymentIntent", result)
        })
    }

    #[wasm_bindgen(js_name = handleNextAction)]
    pub fn handle_next_action(&self, client_secret: String) -> Promise {
        let client = self.inner.clone();
        future_to_promise(async move { outcome("paymentIntent", client.handle_next_action(&client_secret).await) })
    }

    #[wasm_bindgen(js_name = retrievePaymentIntent)]
    pub fn retrieve_payment_intent(&self, client_secret: String) -> Promise {
        let client = self.inner.clone();
        future_to_promise(async move { outcome("paymentIntent", client.retrieve_payment_intent(&client_secret).await) })
    }

    #[wasm_bindgen(js_name = createPaymentMethod)]
    pub fn create_payment_method(&self, card: String) -> Promise {
        let client = self.inner.clone();
        future_to_promise(async move {
            let result = match parse::<CardDetails>("card", &card) {
                Ok(card) => client.create_payment_method(&card).await,
                Err(e) => Err(e),
            };
            outcome("paymentMethod", result)
        })
    }

    #[wasm_bindgen(js_name = listPaymentMethods)]
    pub fn list_payment_methods(&self, customer_session: String) -> Promise {
        let client = self.inner.clone();
        future_to_promise(async move { outcome("paymentMethods", client.list_payment_methods(&customer_session).await) })
    }

    #[wasm_bindgen(js_name = detachPaymentMethod)]
    pub fn detach_payment_method(&self, payment_method_id: String, customer_session: String) -> Promise {
        let client = self.inner.clone();
        future_to_promise(async move {
            let result = client.detach_payment_method(&payment_method_id, &customer_session).await.map(|()| true);
            outcome("deleted", result)
        })
    }
}

/// A JS `Error` with a `code`.
fn error(code: &str, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    error.into()
}

fn currency(code: &str) -> Result<Currency, JsValue> {
    code.parse().map_err(|e: kassa::MoneyError| error("invalid_currency", &e.to_string()))
}

/// Whether a whole card number is valid (length for its brand and checksum).
#[wasm_bindgen(js_name = validateCardNumber)]
pub fn validate_card_number(number: &str) -> bool {
    CardNumber::parse(number).is_ok()
}

/// The brand of a card number, from as few digits as are typed.
#[wasm_bindgen(js_name = cardBrand)]
pub fn card_brand(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() { "unknown".into() } else { CardBrand::detect(&digits).as_str().into() }
}

/// Decimal places of a currency's minor unit.
#[wasm_bindgen(js_name = currencyExponent)]
pub fn currency_exponent(code: &str) -> Result<u32, JsValue> {
    Ok(currency(code)?.exponent())
}

/// Minor units as a plain decimal string in major units: 2698, "USD" → "26.98".
#[wasm_bindgen(js_name = formatMajor)]
pub fn format_major(minor: f64, code: &str) -> Result<String, JsValue> {
    if minor.fract() != 0.0 || minor.abs() > 9_007_199_254_740_991.0 {
        return Err(error("invalid_amount", "amounts are whole numbers of minor units"));
    }
    Ok(currency(code)?.format_amount(minor as i64))
}

/// "26.98", "USD" → 2698; more decimals than the currency has is an error, never rounded.
#[wasm_bindgen(js_name = toMinorUnits)]
pub fn to_minor_units(amount: &str, code: &str) -> Result<f64, JsValue> {
    let minor = currency(code)?.parse_amount(amount).map_err(|e| error("invalid_amount", &e.to_string()))?;
    Ok(minor as f64)
}

/// Checks a `Kassa-Signature` header; throws an `Error` whose `code` says why it fails.
#[wasm_bindgen(js_name = verifyWebhookSignature)]
pub fn verify_webhook_signature(payload: &str, header: &str, secret: &str, now_seconds: f64, tolerance_seconds: f64) -> Result<bool, JsValue> {
    kassa::webhook::verify(payload.as_bytes(), header, secret, now_seconds as i64, tolerance_seconds as i64)
        .map(|()| true)
        .map_err(|e| error(e.code(), &e.to_string()))
}
