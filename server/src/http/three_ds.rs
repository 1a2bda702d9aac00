//! The 3-D Secure challenge page, the issuer's stand-in, and the return address for a challenge
//! the processor runs on its own page. Neither needs a key: the challenge address carries a
//! single-use session secret, and the return address what the processor adds to prove where the
//! cardholder comes from. They run no inline script and may be framed only by the page that
//! confirmed the payment.

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ApiResult;
use super::extract::ClientAddress;
use crate::payments::three_ds::{self, Page};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct SessionQuery {
    #[serde(default)]
    session: String,
}

#[derive(Deserialize)]
struct ChallengeForm {
    #[serde(default)]
    session: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    action: String,
}

/// Refuses a client address past its limit of 3-D Secure requests (sixty a minute by default:
/// a cardholder needs a handful, a script probing payments or driving calls to the processor
/// many more).
async fn admit(state: &AppState, address: ClientAddress) -> ApiResult<()> {
    match address.0 {
        Some(address) => state.rate_limiter.check_three_ds(address).await.map_err(super::auth::rate_limited),
        None => Ok(()),
    }
}

pub async fn show(
    State(state): State<AppState>,
    address: ClientAddress,
    Path(id): Path<String>,
    Query(query): Query<SessionQuery>,
) -> ApiResult<Response> {
    admit(&state, address).await?;
    Ok(render(three_ds::show(&state, &id, &query.session).await?, &query.session))
}

/// `GET /3ds/{id}/return`: where the processor's challenge page sends the cardholder back.
pub async fn returned(
    State(state): State<AppState>,
    address: ClientAddress,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    admit(&state, address).await?;
    let query: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    Ok(render(three_ds::returned(&state, &id, &query).await?, ""))
}

pub async fn submit(State(state): State<AppState>, address: ClientAddress, Path(id): Path<String>, body: Bytes) -> ApiResult<Response> {
    admit(&state, address).await?;
    let form: ChallengeForm =
        serde_urlencoded::from_bytes(&body).unwrap_or(ChallengeForm { session: String::new(), code: String::new(), action: String::new() });
    let code = (form.action != "cancel").then_some(form.code.as_str());
    Ok(render(three_ds::complete(&state, &id, &form.session, code).await?, ""))
}

pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", include_str!("../../assets/challenge.css"))
}

pub async fn complete_script() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("../../assets/complete.js"))
}

pub async fn challenge_script() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("../../assets/challenge.js"))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=300")], body).into_response()
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn document(title: &str, body_attributes: &str, content: &str, script: &str) -> String {
    let script = if script.is_empty() { String::new() } else { format!(r#"<script src="/3ds/assets/{script}"></script>"#) };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/3ds/assets/challenge.css">
<link rel="icon" href="data:,">
</head>
<body{body_attributes}>
<main>
<p class="issuer">Kassa Sandbox Bank · 3-D Secure</p>
{content}
</main>
{script}
</body>
</html>"#
    )
}

/// Who may frame the page: the page that confirmed, and the pages it said it is framed in (every
/// ancestor is checked, so an embedded checkout's shop page must be named too).
fn framers(opener: Option<String>, around: Option<String>) -> Option<String> {
    let origins: Vec<String> =
        opener.into_iter().chain(around.iter().flat_map(|a| a.split(' ').map(str::to_owned))).filter(|o| o.starts_with("http")).collect();
    (!origins.is_empty()).then(|| origins.join(" "))
}

fn render(page: Page, session: &str) -> Response {
    let (status, html, frame_origin) = match page {
        Page::Challenge { intent_id, merchant, amount_minor, currency, last4, opener_origin, frame_ancestors } => {
            let amount = format!("{} {}", currency.format_amount(amount_minor), currency.code());
            let content = format!(
                r#"<h1 id="title">Confirm your payment</h1>
<dl>
<dt>Merchant</dt><dd>{merchant}</dd>
<dt>Amount</dt><dd>{amount}</dd>
<dt>Card</dt><dd>•••• {last4}</dd>
</dl>
<form method="post" action="/3ds/{id}/challenge" aria-labelledby="title">
<input type="hidden" name="session" value="{session}">
<label for="code">One-time code</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="8" required autofocus aria-describedby="hint">
<p class="hint" id="hint">Enter the code your bank sent you. In the sandbox it is 123456.</p>
<div class="actions">
<button type="submit" class="secondary" name="action" value="cancel" formnovalidate>Cancel</button>
<button type="submit" class="primary" name="action" value="verify">Verify</button>
</div>
</form>"#,
                merchant = escape(&merchant),
                amount = escape(&amount),
                last4 = escape(&last4),
                id = escape(intent_id.as_str()),
                session = escape(session),
            );
            let attributes = format!(r#" data-origin="{}""#, escape(opener_origin.as_deref().unwrap_or_default()));
            (
                StatusCode::OK,
                document("Confirm your payment", &attributes, &content, "challenge.js"),
                framers(opener_origin, frame_ancestors),
            )
        }
        Page::Finished { intent_id, status, succeeded, message, opener_origin, frame_ancestors, return_url } => {
            let (class, heading) = if succeeded { ("ok", "Payment confirmed") } else { ("failed", "Not confirmed") };
            let content = format!(
                r#"<h1>{heading}</h1>
<p class="result {class}" role="status">{message}</p>
<p class="hint">You can close this window.</p>"#,
                message = escape(&message)
            );
            let attributes = format!(
                r#" data-intent="{}" data-status="{}" data-origin="{}" data-return-url="{}""#,
                escape(intent_id.as_str()),
                status.as_str(),
                escape(opener_origin.as_deref().unwrap_or_default()),
                escape(return_url.as_deref().unwrap_or_default()),
            );
            let framers = framers(opener_origin.clone(), frame_ancestors);
            (StatusCode::OK, document(heading, &attributes, &content, "complete.js"), framers)
        }
        Page::Redirect { url } => {
            // 303: the browser follows with a GET, whatever brought it here. No referrer: the
            // challenge address holds its session secret.
            let mut response =
                (StatusCode::SEE_OTHER, [(header::CACHE_CONTROL, "no-store"), (header::REFERRER_POLICY, "no-referrer")]).into_response();
            match HeaderValue::from_str(&url) {
                Ok(location) => {
                    response.headers_mut().insert(header::LOCATION, location);
                    return response;
                }
                Err(_) => return render(Page::Invalid, ""),
            }
        }
        Page::Unavailable { opener_origin, frame_ancestors } => {
            let content = r#"<h1>Your bank cannot be reached</h1>
<p class="result failed" role="status">Nothing was charged. Try again in a moment.</p>"#;
            (StatusCode::BAD_GATEWAY, document("Your bank cannot be reached", "", content, ""), framers(opener_origin, frame_ancestors))
        }
        Page::Invalid => {
            let content = r#"<h1>This link has expired</h1>
<p class="result failed" role="status">There is no payment waiting for confirmation here.</p>"#;
            (StatusCode::NOT_FOUND, document("Link expired", "", content, ""), None)
        }
    };
    let ancestors = frame_origin.unwrap_or_else(|| "*".into());
    let csp = format!(
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
    );
    let mut response =
        (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], html).into_response();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response.headers_mut().insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}
