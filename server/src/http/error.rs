//! Kassa's error as an HTTP response: the one status of its code (`kassa::ErrorCode`), the JSON
//! envelope, `Retry-After` on a rate limit, and a 500's cause handed to the log, never sent.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kassa::ErrorCode;

pub use crate::error::{ApiError, ApiResult};

/// The cause of a 500, carried to the logging middleware in the response's extensions.
#[derive(Clone)]
pub struct InternalCause(pub String);

/// The one HTTP status of an error's code.
pub fn status_of(error: &ApiError) -> StatusCode {
    StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (status_of(&self), [(header::CONTENT_TYPE, "application/json")], self.body_bytes()).into_response();
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(InternalCause(cause));
        }
        if let Some(seconds) =
            self.details.as_ref().and_then(|d| d["retryAfterSeconds"].as_u64()).filter(|_| self.code == ErrorCode::RateLimited)
        {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
