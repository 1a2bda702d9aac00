use serde::{Deserialize, Serialize};

use super::json::Json;
use crate::api::LastError;
use crate::ErrorCode;

/// The kind of error, as Stripe.js names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// The card was declined or could not be authenticated.
    CardError,
    /// Something the caller sent is not valid; `param` names it.
    ValidationError,
    /// The key is missing, wrong, or may not do this.
    AuthenticationError,
    /// Too many requests; retry later.
    RateLimitError,
    /// The idempotency key was used for another request.
    IdempotencyError,
    /// The request names something that does not exist or cannot be done now.
    InvalidRequestError,
    /// Kassa or the card processor failed.
    ApiError,
    /// Kassa could not be reached.
    ApiConnectionError,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::CardError => "card_error",
            ErrorType::ValidationError => "validation_error",
            ErrorType::AuthenticationError => "authentication_error",
            ErrorType::RateLimitError => "rate_limit_error",
            ErrorType::IdempotencyError => "idempotency_error",
            ErrorType::InvalidRequestError => "invalid_request_error",
            ErrorType::ApiError => "api_error",
            ErrorType::ApiConnectionError => "api_connection_error",
        }
    }
}

/// An error as the browser sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct KassaError {
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// Kassa's error code (`CARD_DECLINED`, …) or a client-side code.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub decline_code: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub param: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub payment_intent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub status: Option<u16>,
}

impl std::fmt::Display for KassaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for KassaError {}

impl KassaError {
    fn new(kind: ErrorType, code: &str, message: &str) -> KassaError {
        KassaError {
            kind,
            code: code.into(),
            decline_code: None,
            message: message.into(),
            param: None,
            payment_intent_id: None,
            status: None,
        }
    }

    pub fn invalid_argument(param: &str, message: &str) -> KassaError {
        KassaError { param: Some(param.into()), ..KassaError::new(ErrorType::ValidationError, "VALIDATION_ERROR", message) }
    }

    pub fn connection(message: &str) -> KassaError {
        KassaError::new(ErrorType::ApiConnectionError, "NETWORK_ERROR", &format!("Kassa could not be reached: {message}"))
    }

    pub fn unexpected(status: u16) -> KassaError {
        KassaError { status: Some(status), ..KassaError::new(ErrorType::ApiError, "INTERNAL", "Kassa answered in an unexpected form") }
    }

    /// A flow was told of something it did not ask for (a driver's mistake, not the caller's).
    pub fn out_of_turn() -> KassaError {
        KassaError::new(ErrorType::ApiError, "INTERNAL", "The payment flow was driven out of turn")
    }

    pub fn authentication_cancelled(intent_id: &str) -> KassaError {
        KassaError {
            payment_intent_id: Some(intent_id.to_owned()),
            ..KassaError::new(ErrorType::CardError, "AUTHENTICATION_CANCELLED", "The 3-D Secure check was closed before it finished")
        }
    }

    /// The error an intent's last failed attempt stands for.
    pub fn from_intent(intent_id: &str, last_error: Option<&LastError>) -> KassaError {
        let (code, decline_code, message) = match last_error {
            Some(e) => (e.code, e.decline_code.clone(), e.message.clone()),
            None => (ErrorCode::CardDeclined, None, "The payment was not completed".to_owned()),
        };
        KassaError {
            decline_code,
            payment_intent_id: Some(intent_id.to_owned()),
            ..KassaError::new(kind_of(code), code.as_str(), &message)
        }
    }

    /// Reads Kassa's error format, `{"error": {"code", "message", "details"}}`, from the body of
    /// an answer with this status; anything else is [`KassaError::unexpected`].
    pub fn from_body<J: Json>(status: u16, body: Option<&J>) -> KassaError {
        let error = body.and_then(|body| body.get("error"));
        let field = |key: &str| error.as_ref().and_then(|e| e.get(key)).and_then(|v| v.as_string());
        let (Some(code), Some(message)) = (field("code").as_deref().and_then(ErrorCode::parse), field("message")) else {
            return KassaError::unexpected(status);
        };
        let details = error.and_then(|e| e.get("details"));
        let detail = |key: &str| details.as_ref().and_then(|d| d.get(key)).and_then(|v| v.as_string());
        KassaError {
            kind: kind_of(code),
            code: code.as_str().into(),
            decline_code: detail("declineCode"),
            message,
            param: detail("field"),
            payment_intent_id: detail("paymentIntentId"),
            status: Some(status),
        }
    }

    /// The error as the npm package hands it to JavaScript (the same members serde writes).
    pub fn to_json<J: Json>(&self) -> J {
        let mut members =
            vec![("type", J::string(self.kind.as_str())), ("code", J::string(&self.code)), ("message", J::string(&self.message))];
        for (key, value) in [("declineCode", &self.decline_code), ("param", &self.param), ("paymentIntentId", &self.payment_intent_id)] {
            if let Some(value) = value {
                members.push((key, J::string(value)));
            }
        }
        if let Some(status) = self.status {
            members.push(("status", J::integer(status.into())));
        }
        J::object(members)
    }
}

fn kind_of(code: ErrorCode) -> ErrorType {
    match code {
        ErrorCode::CardDeclined => ErrorType::CardError,
        ErrorCode::ValidationError | ErrorCode::PayloadTooLarge => ErrorType::ValidationError,
        ErrorCode::Unauthenticated | ErrorCode::Forbidden => ErrorType::AuthenticationError,
        ErrorCode::RateLimited => ErrorType::RateLimitError,
        ErrorCode::DuplicateRequest => ErrorType::IdempotencyError,
        ErrorCode::NotFound | ErrorCode::MethodNotAllowed | ErrorCode::InvalidState => ErrorType::InvalidRequestError,
        ErrorCode::Internal | ErrorCode::ProviderError | ErrorCode::ServiceUnavailable | ErrorCode::ProviderTimeout => ErrorType::ApiError,
    }
}
