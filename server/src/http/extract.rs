//! A JSON body extractor whose rejections are Kassa errors naming the field.

use axum::body::Bytes;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::address::limit_key;
use super::error::ApiError;
use crate::state::AppState;
use kassa::ErrorCode;

/// Request bodies above this are refused with `PAYLOAD_TOO_LARGE`.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON request body, read whole (within the body limit) and parsed when the handler asks, so
/// that the handler checks the caller's permission first. Every JSON body is read through it.
pub struct JsonBody(Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state).await.map(JsonBody).map_err(|_| too_large())
    }
}

impl JsonBody {
    /// The body as a `T`; an empty body reads as `{}`. See [`parse_json`] for the errors.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse_json(&self.0)
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("Request bodies are limited to {} bytes", BODY_LIMIT))
}

/// Parses a body, turning a serde error into a validation error that names its field and never
/// repeats a card number or CVC that was sent.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = if bytes.is_empty() { b"{}".as_slice() } else { bytes };
    // serde would read a struct from an array of its fields in order (`[]` for one whose fields
    // all have defaults); every body this API takes is an object.
    let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !object && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        return Err(ApiError::validation("body", "body: must be a JSON object"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let err = match serde_path_to_error::deserialize(de) {
        Ok(parsed) => return Ok(parsed),
        Err(err) => err,
    };
    // Only a body that did not read is read again, with its whole numbers written as integers; if
    // it had any, what is wrong with it then is what it is told (not that `2030.0` is a float).
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        let whole = whole_numbers(value.clone());
        if whole != value {
            return serde_path_to_error::deserialize(whole).map_err(body_error);
        }
    }
    Err(body_error(err))
}

/// A body that did not read, as a validation error naming its field.
fn body_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = inner.to_string();
    let syntax = inner.is_syntax() || inner.is_eof();
    let at_root = syntax || path == "." || path.is_empty();
    // A missing field is reported at its parent's path; name the field itself.
    let named = message.starts_with("missing field").then(|| backticked(&message)).flatten();
    let field = match (named, at_root) {
        (Some(name), true) => name,
        (Some(name), false) => format!("{path}.{name}"),
        (None, true) => String::new(),
        (None, false) => path.clone(),
    };
    let message = if syntax {
        "Request body is not valid JSON".to_owned()
    } else if field.ends_with("number") && field.contains("card") {
        describe_card_error(&message, "card number is invalid")
    } else if field.ends_with("cvc") {
        describe_card_error(&message, "CVC is invalid")
    } else {
        crate::error::redact_digits(&strip_position(&message))
    };
    let field = if field.is_empty() { "body".to_owned() } else { field };
    ApiError::validation(&field, format!("{field}: {message}"))
}

/// Our own card errors say nothing about the digits; any other message about a card field is
/// replaced, since serde would quote the value.
fn describe_card_error(message: &str, fallback: &str) -> String {
    let ours = ["card number must contain", "card number has the wrong length", "card number is invalid", "CVC must be"];
    let message = strip_position(message);
    if ours.iter().any(|p| message.starts_with(p)) {
        message
    } else {
        fallback.to_owned()
    }
}

/// JSON has one kind of number: `100.0` is the whole number 100, as JSON Schema's `integer` says.
fn whole_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(whole_numbers).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, whole_numbers(v))).collect()),
        other => other,
    }
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

/// What a path id names, for its 404: "No such payment intent".
pub trait Named {
    const NAME: &'static str;
}

macro_rules! named {
    ($($id:ty => $name:literal,)*) => { $(impl Named for $id { const NAME: &'static str = $name; })* };
}

named! {
    kassa::id::PaymentIntentId => "payment intent",
    kassa::id::CustomerId => "customer",
    kassa::id::PaymentMethodId => "payment method",
    kassa::id::OrderId => "order",
    kassa::id::OrderPaymentId => "order payment",
    kassa::id::ApiKeyId => "API key",
    kassa::id::WebhookEndpointId => "webhook endpoint",
    kassa::id::DeliveryId => "delivery",
}

fn parse_id<T: std::str::FromStr + Named>(raw: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(T::NAME))
}

/// The typed id in a route's path. An id of another kind names nothing this merchant has: 404,
/// in Kassa's error format, as for an id of the right kind that does not exist.
pub struct PathId<T>(pub T);

impl<S: Send + Sync, T: std::str::FromStr + Named + Send> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| ApiError::not_found(T::NAME))?;
        parse_id(&raw).map(PathId)
    }
}

/// Two typed ids in a route's path, the parent's first: `/orders/{id}/payments/{uid}`.
pub struct PathIds<A, B>(pub A, pub B);

impl<S: Send + Sync, A: std::str::FromStr + Named + Send, B: std::str::FromStr + Named + Send> FromRequestParts<S> for PathIds<A, B> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path((a, b)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state).await.map_err(|_| ApiError::not_found(A::NAME))?;
        Ok(PathIds(parse_id(&a)?, parse_id(&b)?))
    }
}

/// Query strings, with the same error format.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|err| {
            let path = err.path().to_string();
            let message = err.into_inner().to_string();
            let field = if path == "." { backticked(&message).unwrap_or_else(|| "query".into()) } else { path };
            ApiError::validation(&field, format!("{field}: {}", crate::error::redact_digits(&message)))
        })
    }
}

/// The header a publishable key sends a customer's session secret in.
pub const SESSION_HEADER: &str = "kassa-customer-session";

/// The client a request came from, as per-address limits count it (see [`limit_key`]), when the
/// server was started with the TCP peer's address.
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress
where
    AppState: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let state = AppState::from_ref(state);
        Ok(ClientAddress(peer.map(|peer| limit_key(peer, &parts.headers, &state.trusted_proxies, state.forwarded_header))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_number_written_as_a_float_is_not_the_error_reported() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Card {
            year: u32,
            month: u8,
        }
        let read: Card = parse_json(br#"{"year": 2030.0, "month": 12}"#).unwrap();
        assert_eq!(read.year, 2030);
        let error = parse_json::<Card>(br#"{"year": 2030.0, "month": "May"}"#).unwrap_err();
        assert_eq!(error.details.unwrap()["field"], "month");
    }

    #[test]
    fn redacts_long_digit_runs() {
        assert_eq!(crate::error::redact_digits("invalid type: integer `4242424242424242`"), "invalid type: integer `****************`");
        assert_eq!(crate::error::redact_digits("expected 25 got 12345678"), "expected 25 got 12345678");
    }
}
