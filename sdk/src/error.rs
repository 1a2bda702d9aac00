//! Kassa's error format: `{"error": {"code", "message", "details"}}`, one HTTP status per code.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ValidationError,
    Unauthenticated,
    CardDeclined,
    Forbidden,
    NotFound,
    /// The route exists, but not for this HTTP method; `Allow` lists the ones it takes.
    MethodNotAllowed,
    InvalidState,
    DuplicateRequest,
    PayloadTooLarge,
    RateLimited,
    Internal,
    ProviderError,
    /// The server cannot reach or write its database just now (gone, full): nothing was
    /// recorded by this request, and the same request may be sent again shortly.
    ServiceUnavailable,
    ProviderTimeout,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::ValidationError,
        ErrorCode::Unauthenticated,
        ErrorCode::CardDeclined,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::InvalidState,
        ErrorCode::DuplicateRequest,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::ProviderError,
        ErrorCode::ServiceUnavailable,
        ErrorCode::ProviderTimeout,
    ];

    /// The code a `SCREAMING_SNAKE_CASE` name stands for.
    pub fn parse(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|code| code.as_str() == name)
    }

    /// The one HTTP status for each code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::ValidationError => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::CardDeclined => 402,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::InvalidState | ErrorCode::DuplicateRequest => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::ProviderError => 502,
            ErrorCode::ServiceUnavailable => 503,
            ErrorCode::ProviderTimeout => 504,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationError => "VALIDATION_ERROR",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::CardDeclined => "CARD_DECLINED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::InvalidState => "INVALID_STATE",
            ErrorCode::DuplicateRequest => "DUPLICATE_REQUEST",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::ProviderError => "PROVIDER_ERROR",
            ErrorCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            ErrorCode::ProviderTimeout => "PROVIDER_TIMEOUT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// Structured facts about the error: `field` for a validation error, `declineCode` and
    /// `paymentIntentId` for a decline, `retryable` for a request still in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_screaming_snake_case_and_map_to_one_status() {
        assert_eq!(ErrorCode::ALL.len(), 14);
        let all = [
            (ErrorCode::ValidationError, 400),
            (ErrorCode::Unauthenticated, 401),
            (ErrorCode::CardDeclined, 402),
            (ErrorCode::Forbidden, 403),
            (ErrorCode::NotFound, 404),
            (ErrorCode::MethodNotAllowed, 405),
            (ErrorCode::InvalidState, 409),
            (ErrorCode::DuplicateRequest, 409),
            (ErrorCode::PayloadTooLarge, 413),
            (ErrorCode::RateLimited, 429),
            (ErrorCode::Internal, 500),
            (ErrorCode::ProviderError, 502),
            (ErrorCode::ServiceUnavailable, 503),
            (ErrorCode::ProviderTimeout, 504),
        ];
        for (code, status) in all {
            assert_eq!(code.http_status(), status);
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
    }
}
