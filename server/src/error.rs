//! The error of Kassa's contract: a code from [`kassa::ErrorCode`], a message, and details, as
//! every request's answer carries it (`{"error": {"code", "message", "details"}}`). The flows and
//! the store return it; it knows nothing of HTTP, whose layer turns it into a response
//! ([`crate::http::error`]).

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

pub type ApiResult<T> = Result<T, ApiError>;
