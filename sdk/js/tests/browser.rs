//! The SDK compiled to WebAssembly, in headless Chromium, against a live kassa-server.
//! `KASSA_TEST_API`, `KASSA_TEST_PK` and `KASSA_TEST_SK` name it (see tests/support/with-server.mjs).
#![cfg(target_arch = "wasm32")]

use kassa_js::{HostFunctions, KassaClient};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const API: &str = env!("KASSA_TEST_API");
const PK: &str = env!("KASSA_TEST_PK");
const SK: &str = env!("KASSA_TEST_SK");

#[wasm_bindgen(inline_js = r#"
export function makeHost(code, loseAnswers, log) {
  let lose = loseAnswers;
  return {
    async fetch(method, url, headers, body) {
      log.push({ method, url, headers: Object.fromEntries(JSON.parse(headers)) });
      const response = await fetch(url, { method, headers: Object.fromEntries(JSON.parse(headers)), body: body ?? undefined });
      const text = await response.text();
      if (lose > 0) { lose -= 1; throw new TypeError('Failed to fetch'); }
      return { status: response.status, body: text };
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    idempotencyKey: () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join(''),
    async presentChallenge(url, size) {
      if (size !== '03') throw new Error(`unexpected window size ${size}`);
      const page = await fetch(url);
      if (!(await page.text()).includes('One-time code')) throw new Error('not the challenge page');
      const target = new URL(url);
      const form = new URLSearchParams({ session: target.searchParams.get('session'), code, action: 'verify' });
      await fetch(target.origin + target.pathname, { method: 'POST', body: form });
      return 'completed';
    },
  };
}
export async function api(base, key, method, path, body) {
  const response = await fetch(base + path, { method, headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' }, body: body || undefined });
  return await response.text();
}
export function newLog() { return []; }
export function logLength(log) { return log.length; }
export function logKeys(log) { return JSON.stringify(log.map((entry) => entry.headers['idempotency-key'])); }
"#)]
extern "C" {
    fn makeHost(code: &str, lose_answers: u32, log: &JsValue) -> HostFunctions;
    async fn api(base: &str, key: &str, method: &str, path: &str, body: Option<String>) -> JsValue;
    fn newLog() -> JsValue;
    fn logLength(log: &JsValue) -> u32;
    fn logKeys(log: &JsValue) -> String;
}

async fn server(method: &str, path: &str, body: Option<Value>) -> Value {
    let text = api(API, SK, method, path, body.map(|b| b.to_string())).await.as_string().unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn client_secret(amount: i64, customer: Option<&str>) -> String {
    let mut body = json!({ "amountCents": amount, "currency": "USD" });
    if let Some(customer) = customer {
        body["customerId"] = json!(customer);
    }
    server("POST", "/api/v1/payments/intents", Some(body)).await["data"]["clientSecret"].as_str().unwrap().to_owned()
}

async fn outcome(promise: js_sys::Promise) -> Value {
    serde_json::from_str(&JsFuture::from(promise).await.unwrap().as_string().unwrap()).unwrap()
}

fn client(code: &str, lose: u32, log: &JsValue) -> KassaClient {
    KassaClient::new(PK.into(), API.into(), makeHost(code, lose, log))
}

fn card(number: &str) -> String {
    json!({ "card": { "number": number, "expMonth": 12, "expYear": 2034, "cvc": "123" } }).to_string()
}

#[wasm_bindgen_test]
async fn confirm_with_4242_is_captured() {
    let kassa = client("123456", 0, &newLog());
    let result = outcome(kassa.confirm_payment(client_secret(2698, None).await, card("4242424242424242"))).await;
    assert_eq!(result["paymentIntent"]["status"], "captured");
    assert_eq!(result["paymentIntent"]["capturedAmountCents"], 2698);
}

#[wasm_bindgen_test]
async fn insufficient_funds_is_a_card_error() {
    let kassa = client("123456", 0, &newLog());
    let result = outcome(kassa.confirm_payment(client_secret(1500, None).await, card("4000000000009995"))).await;
    assert_eq!(result["error"]["type"], "card_error");
    assert_eq!(result["error"]["declineCode"], "insufficient_funds");
}

#[wasm_bindgen_test]
async fn a_challenge_completed_on_the_bank_page_captures() {
    let kassa = client("123456", 0, &newLog());
    let secret = client_secret(4200, None).await;
    let result = outcome(kassa.confirm_payment(secret.clone(), card("4000002760003184"))).await;
    assert_eq!(result["paymentIntent"]["status"], "captured", "{result}");
    let id = secret.split("_secret_").next().unwrap();
    let history = server("GET", &format!("/api/v1/payments/transactions/{id}"), None).await;
    assert_eq!(history["data"]["transactions"][1]["type"], "three_ds");
    assert_eq!(history["data"]["transactions"][1]["status"], "approved");
}

#[wasm_bindgen_test]
async fn a_challenge_passed_then_declined_is_a_card_error() {
    let kassa = client("123456", 0, &newLog());
    let result = outcome(kassa.confirm_payment(client_secret(4200, None).await, card("4000008260003178"))).await;
    assert_eq!(result["error"]["type"], "card_error");
    assert_eq!(result["error"]["declineCode"], "insufficient_funds");
}

#[wasm_bindgen_test]
async fn a_saved_card_is_listed_paid_with_and_deleted() {
    let customer = server("POST", "/api/v1/customers", Some(json!({ "name": "Jo" }))).await["data"]["id"].as_str().unwrap().to_owned();
    let kassa = client("123456", 0, &newLog());
    let mut params: Value = serde_json::from_str(&card("5555555555554444")).unwrap();
    params["saveCard"] = json!(true);
    let first = outcome(kassa.confirm_payment(client_secret(1000, Some(&customer)).await, params.to_string())).await;
    assert_eq!(first["paymentIntent"]["status"], "captured");
    let session = server("POST", &format!("/api/v1/customers/{customer}/sessions"), Some(json!({}))).await["data"]["secret"].as_str().unwrap().to_owned();
    let listed = outcome(kassa.list_payment_methods(session.clone())).await;
    let method = listed["paymentMethods"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed["paymentMethods"][0]["card"]["last4"], "4444");
    let paid = outcome(kassa.confirm_payment(client_secret(500, Some(&customer)).await, json!({ "paymentMethodId": method }).to_string())).await;
    assert_eq!(paid["paymentIntent"]["cardLast4"], "4444");
    assert_eq!(outcome(kassa.detach_payment_method(method, session.clone())).await["deleted"], true);
    assert_eq!(outcome(kassa.list_payment_methods(session)).await["paymentMethods"], json!([]));
}

#[wasm_bindgen_test]
async fn a_transport_that_fails_twice_still_makes_exactly_one_payment() {
    let log = newLog();
    let kassa = client("123456", 2, &log);
    let secret = client_secret(3100, None).await;
    let result = outcome(kassa.confirm_payment(secret.clone(), card("4242424242424242"))).await;
    assert_eq!(result["paymentIntent"]["status"], "captured", "{result}");
    assert_eq!(logLength(&log), 3);
    let keys: Vec<String> = serde_json::from_str(&logKeys(&log)).unwrap();
    assert!(keys.iter().all(|k| k == &keys[0]) && !keys[0].is_empty(), "{keys:?}");
    let id = secret.split("_secret_").next().unwrap();
    let history = server("GET", &format!("/api/v1/payments/transactions/{id}"), None).await;
    let authorizations = history["data"]["transactions"].as_array().unwrap().iter().filter(|t| t["type"] == "authorize").count();
    assert_eq!(authorizations, 1);
}
