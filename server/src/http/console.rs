//! Signing in to the merchant console. A session is a cookie (`HttpOnly`, `SameSite=Strict`,
//! `Secure` and `__Host-` outside localhost) that the rest of the API takes in place of a key;
//! every change made with it also carries `X-CSRF-Token` (see [`session_caller`]).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kassa::api::{ConsoleSession, Data, SetUpRequest, SignInRequest};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::address::public_base;
use super::error::{ApiError, ApiResult};
use super::extract::ClientAddress;
use super::extract::JsonBody;
use crate::clock::{format_ms, now_ms};
use crate::merchants::Caller;
use crate::state::AppState;
use crate::store::users::StoredSession;
use crate::users::{self, csrf_token, Issued};

/// The cookie's name on a secure origin: `__Host-` binds it to this host, path `/`, HTTPS only.
const SECURE_COOKIE: &str = "__Host-kassa_session";
/// The cookie's name on `http://localhost` and loopback addresses, where there is no HTTPS.
const LOCAL_COOKIE: &str = "kassa_session";
/// The header every change made with a session carries.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What browsers are told off localhost: this host is HTTPS only, for two years.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=63072000; includeSubDomains";

/// Whether the request's host is `localhost` or a loopback address, whatever its scheme.
pub fn is_local_host(headers: &HeaderMap) -> bool {
    let base = public_base(headers);
    let host = base.split_once("://").map_or(base.as_str(), |(_, host)| host);
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether the request reached this server as `http://localhost` or a loopback address.
fn is_local(headers: &HeaderMap) -> bool {
    public_base(headers).starts_with("http://") && is_local_host(headers)
}

/// The session token the request's cookie carries, if any. Off `http://localhost` only the
/// `__Host-` cookie counts: a cookie without the prefix may have been set by another host of the
/// domain, or over plain HTTP.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    let local = is_local(headers);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| (*name == SECURE_COOKIE || (local && *name == LOCAL_COOKIE)) && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

fn cookie(headers: &HeaderMap, value: &str, max_age_seconds: i64) -> HeaderValue {
    let text = if is_local(headers) {
        format!("{LOCAL_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}")
    } else {
        format!("{SECURE_COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age_seconds}")
    };
    HeaderValue::from_str(&text).expect("tokens are alphanumeric")
}

/// Whether a browser says the request comes from a page of another site.
fn from_another_site(headers: &HeaderMap) -> bool {
    headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|site| site == "cross-site")
}

fn csrf_refused() -> ApiError {
    ApiError::forbidden("A change made while signed in needs the session's `X-CSRF-Token` header")
}

/// The caller a session cookie stands for, or `None` when the request has no session cookie.
/// A request that changes something must carry the session's CSRF token and must not come from a
/// page of another site.
pub async fn session_caller(state: &AppState, method: &Method, headers: &HeaderMap) -> Option<ApiResult<Caller>> {
    let token = session_token(headers)?;
    Some(
        async {
            let session = users::session(&state.store, &token, &state.console, now_ms()).await?;
            if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
                let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
                let expected = csrf_token(&token);
                if from_another_site(headers) || !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
                    return Err(csrf_refused());
                }
            }
            let user = session.user;
            Ok(Caller::user(user.id, user.email, user.role, session.merchant_id))
        }
        .await,
    )
}

async fn describe(state: &AppState, session: StoredSession, token: &str) -> ApiResult<ConsoleSession> {
    let merchant_name = crate::store::merchants::name(&state.store, &session.merchant_id).await?.unwrap_or_default();
    Ok(ConsoleSession {
        permissions: session.user.role.permissions().to_vec(),
        administers: session.user.role.administers(),
        idle_expires_at: format_ms(users::idle_expiry(&session, &state.console)),
        expires_at: format_ms(session.expires_at),
        csrf_token: csrf_token(token),
        merchant_id: session.merchant_id,
        merchant_name,
        user: session.user,
    })
}

/// Answers a new session: its description, and the cookie.
async fn issued(state: &AppState, headers: &HeaderMap, issued: Issued) -> ApiResult<Response> {
    let max_age = (issued.session.expires_at - now_ms()) / 1000;
    let cookie = cookie(headers, &issued.token, max_age);
    let body = describe(state, issued.session, &issued.token).await?;
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, cookie), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(Data { data: body }),
    )
        .into_response())
}

/// Refuses a sign-in or setup from another site's page, or past the client address's limit (ten
/// a minute by default: enough for an office behind one address, too few to spray passwords).
async fn admit(state: &AppState, headers: &HeaderMap, address: ClientAddress, refusal: &str) -> ApiResult<()> {
    if from_another_site(headers) {
        return Err(ApiError::forbidden(refusal));
    }
    match address.0 {
        Some(address) => state
            .rate_limiter
            .check_sign_in(address)
            .await
            .map_err(|wait| users::try_again_later("Too many sign-ins from this address", wait.as_secs() + 1)),
        None => Ok(()),
    }
}

/// Sign in to the console with email and password. Five wrong passwords in a row lock the email
/// for 15 minutes (each attempt counts before its password is checked, so no more than five are
/// checked however many arrive at once), and one client address may try ten times a minute
/// (`RATE_LIMITED` both, whether or not the email is a user's).
#[utoipa::path(post, path = "/console/session", tag = "console", security(()),
    request_body = SignInRequest,
    responses((status = 201, description = "Signed in; the session cookie is set", body = crate::http::openapi::ConsoleSessionResponse),
              (status = 400, body = kassa::ErrorEnvelope), (status = 401, description = "Wrong email or password", body = kassa::ErrorEnvelope),
              (status = 403, description = "Sent from a page of another site", body = kassa::ErrorEnvelope),
              (status = 429, description = "The email is locked out for a while, the address has tried too often, or too many passwords are being checked at once", body = kassa::ErrorEnvelope)))]
pub async fn sign_in(State(state): State<AppState>, address: ClientAddress, headers: HeaderMap, body: JsonBody) -> ApiResult<Response> {
    admit(&state, &headers, address, "Sign in from the console's own page").await?;
    let req: SignInRequest = body.parse()?;
    let session = users::sign_in(&state.store, &state.hashing, &req.email, &req.password, &state.console, now_ms()).await?;
    issued(&state, &headers, session).await
}

/// Choose a password with the one-time setup token from `kassa-server user create`, and sign in.
#[utoipa::path(post, path = "/console/setup", tag = "console", security(()),
    request_body = SetUpRequest,
    responses((status = 201, description = "The password is set and the user signed in", body = crate::http::openapi::ConsoleSessionResponse),
              (status = 400, body = kassa::ErrorEnvelope),
              (status = 403, description = "Sent from a page of another site", body = kassa::ErrorEnvelope),
              (status = 404, description = "The token is unknown, used or expired", body = kassa::ErrorEnvelope),
              (status = 429, description = "The address has tried too often, or too many passwords are being hashed at once", body = kassa::ErrorEnvelope)))]
pub async fn set_up(State(state): State<AppState>, address: ClientAddress, headers: HeaderMap, body: JsonBody) -> ApiResult<Response> {
    admit(&state, &headers, address, "Set your password on the console's own page").await?;
    let req: SetUpRequest = body.parse()?;
    let session = users::set_up(&state.store, &state.hashing, &req.token, &req.password, &state.console, now_ms()).await?;
    issued(&state, &headers, session).await
}

/// The signed-in user's session: who they are, what they may do, and the CSRF token.
#[utoipa::path(get, path = "/console/session", tag = "console", security(("consoleSession" = [])),
    responses((status = 200, body = crate::http::openapi::ConsoleSessionResponse),
              (status = 401, description = "Not signed in, or the session ended", body = kassa::ErrorEnvelope)))]
pub async fn current(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let token = session_token(&headers).ok_or_else(users::signed_out)?;
    let session = users::session(&state.store, &token, &state.console, now_ms()).await?;
    let body = describe(&state, session, &token).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(Data { data: body })).into_response())
}

/// Sign out: the session ends at once and the cookie is cleared.
#[utoipa::path(delete, path = "/console/session", tag = "console", security(("consoleSession" = [])),
    params(("X-CSRF-Token" = String, Header, description = "The session's CSRF token")),
    responses((status = 200, description = "Signed out", body = crate::http::openapi::SignedOutResponse),
              (status = 401, description = "Not signed in, or the session ended", body = kassa::ErrorEnvelope),
              (status = 403, description = "Without the session's CSRF token", body = kassa::ErrorEnvelope)))]
pub async fn sign_out(State(state): State<AppState>, method: Method, headers: HeaderMap) -> ApiResult<Response> {
    let token = session_token(&headers).ok_or_else(users::signed_out)?;
    session_caller(&state, &method, &headers).await.ok_or_else(users::signed_out)??;
    users::sign_out(&state.store, &token).await?;
    let cleared = cookie(&headers, "", 0);
    Ok(([(header::SET_COOKIE, cleared)], Json(json!({ "data": { "signedIn": false } }))).into_response())
}
