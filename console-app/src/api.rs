//! Kassa's HTTP API from the console's page: the session cookie goes with every call (same
//! origin), and every change carries the session's CSRF token and an idempotency key.

use std::cell::RefCell;

use kassa::api::PageMeta;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// An answer that is not a success, in Kassa's error format, or a network failure (status 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Failure {
    fn network(message: impl Into<String>) -> Failure {
        Failure { status: 0, code: "NETWORK".into(), message: message.into() }
    }

    /// The session is gone: the page should ask the user to sign in again.
    pub fn signed_out(&self) -> bool {
        self.status == 401
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
    #[serde(default)]
    meta: Option<PageMeta>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

thread_local! {
    /// The signed-in session's CSRF token.
    static CSRF: RefCell<String> = const { RefCell::new(String::new()) };
}

pub fn set_csrf(token: &str) {
    CSRF.with(|csrf| *csrf.borrow_mut() = token.to_owned());
}

/// A fresh idempotency key: 128 random bits, hex.
pub fn new_key() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn call(method: &str, path: &str, body: Option<&Value>, key: Option<&str>) -> Result<(Value, u16), Failure> {
    let no_answer = |e: JsValue| Failure::network(e.dyn_ref::<js_sys::Error>().map_or_else(|| "No answer from Kassa".into(), |e| String::from(e.message())));
    let window = web_sys::window().ok_or_else(|| Failure::network("no window"))?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(no_answer)?;
    let _ = headers.set("accept", "application/json");
    if method != "GET" {
        let _ = headers.set("x-csrf-token", &CSRF.with(|c| c.borrow().clone()));
    }
    if let Some(key) = key {
        let _ = headers.set("idempotency-key", key);
    }
    if let Some(body) = body {
        let _ = headers.set("content-type", "application/json");
        init.set_body(&JsValue::from_str(&body.to_string()));
    }
    init.set_headers(&headers);
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(&format!("/api/v1{path}"), &init)).await.map_err(no_answer)?.unchecked_into();
    let status = response.status();
    let text = JsFuture::from(response.text().map_err(no_answer)?).await.map_err(no_answer)?.as_string().unwrap_or_default();
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok((json, status));
    }
    Err(match serde_json::from_value::<ErrorEnvelope>(json) {
        Ok(e) => Failure { status, code: e.error.code, message: e.error.message },
        Err(_) => Failure { status, code: "INTERNAL".into(), message: format!("Kassa answered {status}") },
    })
}

fn data<T: DeserializeOwned>(json: Value) -> Result<(T, Option<PageMeta>), Failure> {
    serde_json::from_value::<Envelope<T>>(json)
        .map(|e| (e.data, e.meta))
        .map_err(|e| Failure { status: 200, code: "INTERNAL".into(), message: format!("An answer the console cannot read: {e}") })
}

/// `GET /api/v1{path}`: its `data`.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, Failure> {
    data(call("GET", path, None, None).await?.0).map(|(d, _)| d)
}

/// A page of a list: its items and where the next page starts.
pub async fn page<T: DeserializeOwned>(path: &str) -> Result<(Vec<T>, Option<String>), Failure> {
    let (items, meta) = data::<Vec<T>>(call("GET", path, None, None).await?.0)?;
    Ok((items, meta.filter(|m| m.has_more).and_then(|m| m.cursor)))
}

/// A change: `method` with `body`, under idempotency key `key` (a retry with the same key is
/// answered with the first answer and changes nothing twice).
pub async fn send<T: DeserializeOwned>(method: &str, path: &str, body: &Value, key: &str) -> Result<T, Failure> {
    data(call(method, path, Some(body), Some(key)).await?.0).map(|(d, _)| d)
}

/// Signing in, out, and setting a password: no idempotency key.
pub async fn session_call<T: DeserializeOwned>(method: &str, path: &str, body: Option<&Value>) -> Result<T, Failure> {
    data(call(method, path, body, None).await?.0).map(|(d, _)| d)
}
