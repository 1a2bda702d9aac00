//! The shop answers its pages in Kassa's error format, and passes Kassa's own errors on as they came.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kassa::{ErrorBody, ErrorCode, ErrorEnvelope};
use serde_json::{json, Value};

#[derive(Debug)]
pub struct ShopError {
    pub status: u16,
    pub body: Value,
    retry_after: Option<u32>,
}

pub type ShopResult<T> = Result<T, ShopError>;

impl ShopError {
    fn new(code: ErrorCode, message: impl Into<String>, details: Option<Value>) -> Self {
        let body = ErrorEnvelope { error: ErrorBody { code, message: message.into(), details } };
        ShopError { status: code.http_status(), body: serde_json::to_value(body).unwrap_or_default(), retry_after: None }
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message, Some(json!({ "field": field })))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("No such {what}"), None)
    }

    pub fn rate_limited(retry_after: u32) -> Self {
        ShopError { retry_after: Some(retry_after), ..Self::new(ErrorCode::RateLimited, "Too many requests; try again shortly", None) }
    }

    /// Kassa could not be reached, or answered what Kassa never answers.
    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ProviderError, message, None)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::Internal, format!("The shop failed: {message}"), None)
    }

    /// Kassa's answer, passed on with its status and error.
    pub fn from_kassa(status: u16, body: Value) -> Self {
        if body["error"]["code"].is_string() {
            ShopError { status, body, retry_after: None }
        } else {
            Self::upstream(format!("Kassa answered {status} without an error"))
        }
    }
}

impl From<sqlx::Error> for ShopError {
    fn from(e: sqlx::Error) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for ShopError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut response = (status, Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
