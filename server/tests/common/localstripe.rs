//! localstripe (PyPI): a stateful, Stripe-compatible server that runs offline. The tests install
//! it into a virtual environment of their own when it is missing, and start one per test process
//! on a free port; it stops when the process ends, however it ends. `KASSA_TEST_LOCALSTRIPE_URL`
//! names one that is already running instead.
//!
//! It runs inside `tests/support/stripe_stand_in.py`, which adds what Stripe does and localstripe
//! does not: confirmations take `return_url`, and 3-D Secure runs on a challenge page of its own
//! (`next_action.redirect_to_url`) that sends the cardholder back, as Stripe's test page does. The
//! stand-in also listens on 127.0.0.1 only and keeps nothing on disk (localstripe writes its whole
//! store to one fixed file after every change, which several instances cannot share).

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use super::process::{exchange, supervise, try_request};

pub const VERSION: &str = "1.15.10";
/// localstripe takes any key that looks like a Stripe secret key.
pub const SECRET_KEY: &str = "sk_test_kassa_localstripe";

/// This process's localstripe, as `http://127.0.0.1:PORT`.
pub fn url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| std::env::var("KASSA_TEST_LOCALSTRIPE_URL").unwrap_or_else(|_| start_one()))
}

/// `127.0.0.1:PORT` of [`url`], for raw requests.
pub fn addr() -> &'static str {
    url().trim_start_matches("http://")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("target"))
}

/// The virtual environment with localstripe in it, made on first use.
pub fn venv() -> PathBuf {
    static MADE: Mutex<()> = Mutex::new(());
    let _one_at_a_time = MADE.lock().unwrap_or_else(|e| e.into_inner());
    let venv = target_dir().join(format!("localstripe-{VERSION}"));
    let python = venv.join("bin/python");
    let installed = || Command::new(&python).args(["-c", "import localstripe.server"]).status().is_ok_and(|s| s.success());
    if installed() {
        return venv;
    }
    // Made under a draft name and moved into place, so a half-made one is never used.
    let draft = target_dir().join(format!("localstripe-{VERSION}.draft-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&draft);
    let made = Command::new("python3").arg("-m").arg("venv").arg(&draft).status().expect("python3 -m venv (install python3-venv)");
    assert!(made.success(), "python3 -m venv failed");
    let pip = Command::new(draft.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", &format!("localstripe=={VERSION}")])
        .status()
        .expect("pip");
    assert!(pip.success(), "pip install localstripe=={VERSION} failed");
    // A virtual environment names its own folder in its scripts; python itself does not mind.
    if std::fs::rename(&draft, &venv).is_err() {
        let _ = std::fs::remove_dir_all(&draft);
    }
    assert!(installed(), "localstripe is not importable from {}", venv.display());
    venv
}

/// Starts another localstripe (empty) under a supervisor shell that stops it when this process
/// exits (the pipe it reads from closes).
pub fn start_one() -> String {
    let python = venv().join("bin/python");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let stand_in = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/support/stripe_stand_in.py");
    let log = std::env::temp_dir().join(format!("kassa-localstripe-{port}.log"));
    let script = format!(
        "'{python}' '{stand_in}' --port {port} < /dev/null > '{log}' 2>&1 & pid=$!; echo started; read _; kill $pid; wait $pid; rm -f '{log}'",
        python = python.display(),
        stand_in = stand_in.display(),
        log = log.display(),
    );
    supervise(Command::new("sh"), &script, port, &log.display().to_string());
    format!("http://127.0.0.1:{port}")
}

/// A GET of localstripe's API, as its records are: `(status, body)`.
pub async fn get(path: &str) -> (u16, Value) {
    try_request(addr(), "GET", path, SECRET_KEY, &[], None).await.unwrap_or_else(|| panic!("localstripe: GET {path}: no answer"))
}

/// A POST of a JSON body (localstripe takes JSON as well as forms).
pub async fn post(path: &str, body: &Value) -> (u16, Value) {
    try_request(addr(), "POST", path, SECRET_KEY, &[], Some(body)).await.unwrap_or_else(|| panic!("localstripe: POST {path}: no answer"))
}

/// A PaymentIntent as localstripe holds it.
pub async fn payment_intent(id: &str) -> Value {
    let (status, pi) = get(&format!("/v1/payment_intents/{id}")).await;
    assert_eq!(status, 200, "localstripe has no {id}: {pi}");
    pi
}

/// Every PaymentIntent localstripe holds that Kassa opened for the payment `kassa_payment`.
pub async fn payment_intents_of(kassa_payment: &str) -> Vec<Value> {
    let (status, list) = get("/v1/payment_intents?limit=100000").await;
    assert_eq!(status, 200, "{list}");
    list["data"].as_array().unwrap().iter().filter(|pi| pi["metadata"]["kassa_payment"] == kassa_payment).cloned().collect()
}

/// The refunds localstripe made for a PaymentIntent under Kassa's calls (localstripe also keeps
/// the uncaptured rest of a partial capture as a refund of its own, without Kassa's key).
pub async fn refunds_of(payment_intent: &str) -> Vec<Value> {
    let (status, list) = get(&format!("/v1/refunds?payment_intent={payment_intent}&limit=1000")).await;
    assert_eq!(status, 200, "{list}");
    list["data"].as_array().unwrap().iter().filter(|r| r["metadata"]["kassa_call"].is_string()).cloned().collect()
}

/// A browser's request to the stand-in at `url`, with a form for a POST: `(status, head, body)`.
async fn browse(url: &str, method: &str, form: Option<&str>) -> (u16, String, String) {
    let rest = url.strip_prefix("http://").expect("an http:// address");
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let headers: &[(&str, &str)] = if form.is_some() { &[("Content-Type", "application/x-www-form-urlencoded")] } else { &[] };
    exchange(addr, method, path, headers, form.unwrap_or_default().as_bytes()).await.expect("the stand-in answers")
}

/// The cardholder on Stripe's challenge page at `url` (the stand-in's test page): completes the
/// authentication, or fails it, and is sent back. Returns where to: Kassa's return address with
/// what Stripe adds to it.
pub async fn answer_challenge(url: &str, complete: bool) -> String {
    let (status, _, page) = browse(url, "GET", None).await;
    assert_eq!(status, 200, "Stripe's challenge page: {page}");
    assert!(page.contains("Complete authentication"), "{page}");
    let secret = url.split("client_secret=").nth(1).expect("the page's address carries the client secret");
    let outcome = if complete { "complete" } else { "fail" };
    let (status, head, body) =
        browse(url.split('?').next().unwrap(), "POST", Some(&format!("client_secret={secret}&outcome={outcome}"))).await;
    assert_eq!(status, 303, "{head}\n{body}");
    let location = head.lines().find_map(|l| l.strip_prefix("Location: ")).expect("Stripe sends the cardholder back");
    location.to_owned()
}

/// The charges localstripe made for a PaymentIntent: what reached the card.
pub async fn charges_of(payment_intent: &str) -> Vec<Value> {
    let (status, list) = get("/v1/charges?limit=100000").await;
    assert_eq!(status, 200, "{list}");
    list["data"].as_array().unwrap().iter().filter(|c| c["payment_intent"] == payment_intent).cloned().collect()
}
