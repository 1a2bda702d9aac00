//! The WebAssembly core of the `kassa` npm package: the client flows and the card, money and
//! webhook helpers. The flows do no I/O: the hand-written loader (`js/index.js`) carries out each
//! step one asks for — a `fetch`, a timer, the 3-D Secure modal — and reports back, and JSON stays
//! the browser's own objects, so this core holds no async runtime and no JSON parser.

use js_sys::Reflect;
use kassa::card::{CardBrand, CardNumber};
use kassa::client::{Api, CardDetails, ChallengeError, ConfirmParams, HttpResponse, JsJson, Json, Step, TransportError};
use kassa::Currency;
use wasm_bindgen::prelude::*;

/// Where the flows send their requests, and with which publishable key.
#[wasm_bindgen]
pub struct KassaApi(Api);

#[wasm_bindgen]
impl KassaApi {
    #[wasm_bindgen(constructor)]
    pub fn new(publishable_key: String, api_base: String) -> KassaApi {
        KassaApi(Api::new(publishable_key, api_base))
    }

    #[wasm_bindgen(js_name = confirmPayment)]
    pub fn confirm_payment(&self, client_secret: &str, params: JsValue, idempotency_key: String) -> PaymentFlow {
        PaymentFlow(match ConfirmParams::from_json(&JsJson(params)) {
            Ok(params) => self.0.confirm_payment(client_secret, &params, idempotency_key),
            Err(error) => kassa::client::Flow::refused(error),
        })
    }

    #[wasm_bindgen(js_name = handleNextAction)]
    pub fn handle_next_action(&self, client_secret: &str) -> PaymentFlow {
        PaymentFlow(self.0.handle_next_action(client_secret))
    }

    #[wasm_bindgen(js_name = retrievePaymentIntent)]
    pub fn retrieve_payment_intent(&self, client_secret: &str) -> PaymentFlow {
        PaymentFlow(self.0.retrieve_payment_intent(client_secret))
    }

    #[wasm_bindgen(js_name = createPaymentMethod)]
    pub fn create_payment_method(&self, card: JsValue, idempotency_key: String) -> PaymentFlow {
        PaymentFlow(match CardDetails::from_json(&JsJson(card)) {
            Ok(card) => self.0.create_payment_method(&card, idempotency_key),
            Err(error) => kassa::client::Flow::refused(error),
        })
    }

    #[wasm_bindgen(js_name = listPaymentMethods)]
    pub fn list_payment_methods(&self, customer_session: &str) -> PaymentFlow {
        PaymentFlow(self.0.list_payment_methods(customer_session))
    }

    #[wasm_bindgen(js_name = detachPaymentMethod)]
    pub fn detach_payment_method(&self, payment_method_id: &str, customer_session: &str, idempotency_key: String) -> PaymentFlow {
        PaymentFlow(self.0.detach_payment_method(payment_method_id, customer_session, idempotency_key))
    }
}

/// One call in progress. Each method returns the next step as a plain object, for the loader to
/// carry out: `{send: {method, url, headers, body}}`, `{sleep: ms}`,
/// `{challenge: {url, windowSize}}`, or the end, `{done: data}` or `{error}`.
#[wasm_bindgen]
pub struct PaymentFlow(kassa::client::Flow<JsJson>);

#[wasm_bindgen]
impl PaymentFlow {
    pub fn start(&mut self) -> JsValue {
        step(self.0.start())
    }

    /// Kassa answered with this status and body.
    #[wasm_bindgen(js_name = onResponse)]
    pub fn on_response(&mut self, status: u16, body: String) -> JsValue {
        step(self.0.on_response(Ok(HttpResponse { status, body })))
    }

    /// The request got no answer.
    #[wasm_bindgen(js_name = onNoAnswer)]
    pub fn on_no_answer(&mut self, reason: String) -> JsValue {
        step(self.0.on_response(Err(TransportError(reason))))
    }

    #[wasm_bindgen(js_name = onSlept)]
    pub fn on_slept(&mut self) -> JsValue {
        step(self.0.on_slept())
    }

    /// `"completed"`, `"cancelled"`, or anything else for a page that could not be shown.
    #[wasm_bindgen(js_name = onChallenge)]
    pub fn on_challenge(&mut self, outcome: &str) -> JsValue {
        step(self.0.on_challenge(match outcome {
            "completed" => Ok(()),
            "cancelled" => Err(ChallengeError::Cancelled),
            _ => Err(ChallengeError::Unavailable),
        }))
    }
}

fn step(step: Step<JsJson>) -> JsValue {
    let s = JsJson::string;
    let (key, value) = match step {
        Step::Send(request) => {
            let headers = JsJson::object(request.headers.iter().map(|(name, value)| (*name, s(value))).collect());
            let mut send = vec![("method", s(request.method.as_str())), ("url", s(&request.url)), ("headers", headers)];
            if let Some(body) = &request.body {
                send.push(("body", s(body)));
            }
            ("send", JsJson::object(send))
        }
        Step::Sleep(millis) => ("sleep", JsJson::integer(millis.into())),
        Step::Challenge(action) => {
            ("challenge", JsJson::object(vec![("url", s(&action.url)), ("windowSize", s(&action.challenge_window_size))]))
        }
        Step::Done(Ok(data)) => ("done", data),
        Step::Done(Err(error)) => ("error", error.to_json()),
    };
    JsJson::object(vec![(key, value)]).0
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
    if digits.is_empty() {
        "unknown".into()
    } else {
        CardBrand::detect(&digits).as_str().into()
    }
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
pub fn verify_webhook_signature(
    payload: &str,
    header: &str,
    secret: &str,
    now_seconds: f64,
    tolerance_seconds: f64,
) -> Result<bool, JsValue> {
    kassa::webhook::verify(payload.as_bytes(), header, secret, now_seconds as i64, tolerance_seconds as i64)
        .map(|()| true)
        .map_err(|e| error(e.code(), &e.to_string()))
}
