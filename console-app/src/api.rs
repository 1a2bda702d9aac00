//! Kassa's HTTP API from the console's page: the session cookie goes with every call (same
//! origin), and every change carries the session's CSRF token and an idempotency key.
//!
//! Answers stay the browser's own objects (`JsJson`, parsed by `JSON.parse`) and are read field
//! by field where they are shown, so the console carries no JSON decoder per type.

use std::cell::RefCell;

use kassa::client::{JsJson, Json};
use kassa::Currency;
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
    /// The session is gone: the page should ask the user to sign in again.
    pub fn signed_out(&self) -> bool {
        self.status == 401
    }
}

/// Reading an answer's members.
pub trait Read {
    /// A member, unless it is missing or null.
    fn at(&self, key: &str) -> Option<JsJson>;
    fn text(&self, key: &str) -> Option<String>;
    /// This value as a string, if it is one.
    fn string(&self) -> Option<String>;
    fn int(&self, key: &str) -> i64;
    fn list(&self, key: &str) -> Vec<JsJson>;
    fn flag(&self, key: &str) -> bool;
    /// The object's `currency`.
    fn currency(&self) -> Currency;
}

impl Read for JsJson {
    fn at(&self, key: &str) -> Option<JsJson> {
        self.get(key)
    }
    fn text(&self, key: &str) -> Option<String> {
        self.get(key).and_then(|v| v.as_string()).filter(|s| !s.is_empty())
    }
    fn string(&self) -> Option<String> {
        self.as_string()
    }
    fn int(&self, key: &str) -> i64 {
        self.get(key).and_then(|v| v.as_integer()).unwrap_or(0)
    }
    fn list(&self, key: &str) -> Vec<JsJson> {
        self.get(key).and_then(|v| v.as_array()).unwrap_or_default()
    }
    fn flag(&self, key: &str) -> bool {
        self.get(key).and_then(|v| v.as_boolean()).unwrap_or(false)
    }
    fn currency(&self) -> Currency {
        self.text("currency").and_then(|c| c.parse().ok()).unwrap_or(Currency::USD)
    }
}

thread_local! {
    /// The signed-in session's CSRF token.
    static CSRF: RefCell<String> = const { RefCell::new(String::new()) };
}

pub fn set_csrf(token: &str) {
    CSRF.with(|csrf| *csrf.borrow_mut() = token.to_owned());
}

/// Calls `/api/v1{path}`: the whole answer of a success.
async fn call(method: &str, path: &str, body: Option<&JsJson>, key: Option<&str>) -> Result<JsJson, Failure> {
    let failure = |status: u16, code: &str, message: String| Failure { status, code: code.into(), message };
    let no_answer = |e: JsValue| {
        failure(0, "NETWORK", e.dyn_ref::<js_sys::Error>().map_or_else(|| "No answer from Kassa".into(), |e| String::from(e.message())))
    };
    let window = web_sys::window().ok_or_else(|| failure(0, "NETWORK", "no window".into()))?;
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
        init.set_body(&JsValue::from_str(&body.to_text()));
    }
    init.set_headers(&headers);
    let response: web_sys::Response =
        JsFuture::from(window.fetch_with_str_and_init(&format!("/api/v1{path}"), &init)).await.map_err(no_answer)?.unchecked_into();
    let status = response.status();
    let text = JsFuture::from(response.text().map_err(no_answer)?).await.map_err(no_answer)?.as_string().unwrap_or_default();
    let json = JsJson::parse(&text);
    if (200..300).contains(&status) {
        return json.ok_or_else(|| failure(status, "INTERNAL", "An answer the console cannot read".into()));
    }
    let error = json.and_then(|j| j.get("error"));
    Err(match error {
        Some(e) => failure(status, &e.text("code").unwrap_or_default(), e.text("message").unwrap_or_default()),
        None => failure(status, "INTERNAL", format!("Kassa answered {status}")),
    })
}

/// A success's `data`.
pub fn data(answer: JsJson) -> JsJson {
    answer.get("data").unwrap_or(answer)
}

/// The items of a list answer.
pub fn items(answer: &JsJson) -> Vec<JsJson> {
    answer.list("data")
}

/// Where a list's next page starts, if there is one.
pub fn next_cursor(answer: &JsJson) -> Option<String> {
    answer.get("meta").filter(|m| m.flag("hasMore")).and_then(|m| m.text("cursor"))
}

/// `GET /api/v1{path}`: the whole answer (`data`, and `meta` of a list).
pub async fn get(path: &str) -> Result<JsJson, Failure> {
    call("GET", path, None, None).await
}

/// A change, under idempotency key `key`: a retry with the same key is answered with the first
/// answer and changes nothing twice.
pub async fn send(method: &str, path: &str, body: &JsJson, key: &str) -> Result<JsJson, Failure> {
    call(method, path, Some(body), Some(key)).await.map(data)
}

/// Signing in, out, and setting a password: no idempotency key.
pub async fn session_call(method: &str, path: &str, body: Option<&JsJson>) -> Result<JsJson, Failure> {
    call(method, path, body, None).await.map(data)
}

/// A JSON object from its members.
pub fn object(members: Vec<(&'static str, JsJson)>) -> JsJson {
    JsJson::object(members)
}

pub fn string(value: &str) -> JsJson {
    <JsJson as Json>::string(value)
}

pub fn integer(value: i64) -> JsJson {
    JsJson::integer(value)
}
