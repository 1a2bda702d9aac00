//! One error type for every handler; each code maps to its one status in `kassa::ErrorCode`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kassa::{ErrorBody, ErrorCode, ErrorEnvelope};
use serde_json::{json, Value};

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    /// What went wrong inside, for the log only; never sent.
    pub cause: Option<String>,
}

/// The cause of a 500, carried to the logging middleware in the response's extensions.
#[derive(Clone)]
pub struct InternalCause(pub String);

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), details: None, cause: None }
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    /// A bad field: the message says what is wrong, `details.field` names the field.
    pub fn validation(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::ValidationError, message).with_details(json!({ "field": field }))
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(ErrorCode::NotFound, format!("No such {what}"))
    }

    pub fn invalid_state(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidState, message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Forbidden, message)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            ErrorCode::Unauthenticated,
            "Missing or invalid API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
        )
    }

    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        ApiError {
            code: ErrorCode::Internal,
            message: "Something went wrong on our side".into(),
            details: None,
            cause: Some(cause.to_string()),
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The body exactly as sent.
    pub fn body_bytes(&self) -> Vec<u8> {
        let envelope = ErrorEnvelope {
            error: ErrorBody { code: self.code, message: self.message.clone(), details: self.details.clone() },
        };
        serde_json::to_vec(&envelope).unwrap_or_default()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        ApiError::internal(format!("database: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status(), [(header::CONTENT_TYPE, "application/json")], self.body_bytes()).into_response();
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(InternalCause(cause));
        }
        if let Some(seconds) = self.details.as_ref().and_then(|d| d["retryAfterSeconds"].as_u64()).filter(|_| self.code == ErrorCode::RateLimited) {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
