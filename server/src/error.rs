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

    /// The same error, saying `message`.
    pub fn with_message(mut self, message: impl Into<String>) -> ApiError {
        self.message = message.into();
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
        ApiError::new(ErrorCode::Unauthenticated, "Missing or invalid API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`")
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
        serde_json::to_vec(&ErrorEnvelope { error: self.body() }).unwrap_or_default()
    }

    /// What the caller is told: code, message and details (never the cause).
    pub fn body(&self) -> ErrorBody {
        ErrorBody { code: self.code, message: self.message.clone(), details: self.details.clone() }
    }
}

impl ApiError {
    /// The database cannot be reached or written just now: nothing of the request was recorded
    /// (or what was, the reconciler finishes), and the same request may be sent again.
    pub fn unavailable(cause: impl std::fmt::Display) -> ApiError {
        ApiError {
            code: ErrorCode::ServiceUnavailable,
            message: "The service is unavailable just now; send the same request again shortly".into(),
            details: Some(json!({ "retryable": true })),
            cause: Some(cause.to_string()),
        }
    }
}

/// Whether a database error says the database is gone or cannot take writes (connection lost or
/// refused, the server shutting down or starting up, a full disk), rather than that the query or
/// the data is wrong: such a failure passes, and the request may be tried again.
pub fn database_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL: connection exceptions (08…), operator intervention (57P0…: shutting
            // down, crashed, starting up), insufficient resources (53…: disk full, out of memory
            // or connections). SQLite: SQLITE_FULL (13), SQLITE_IOERR (10 and its extended codes),
            // SQLITE_CANTOPEN (14).
            code.starts_with("08") || code.starts_with("57P") || code.starts_with("53") || sqlite_unavailable(&code)
        }
        // A batch of SQLite writes whose COMMIT failed carries the reason as text.
        sqlx::Error::Protocol(text) => text.starts_with("commit failed:") && unavailable_text(text),
        _ => false,
    }
}

fn sqlite_unavailable(code: &str) -> bool {
    code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 10 | 13 | 14))
}

fn unavailable_text(text: &str) -> bool {
    ["database or disk is full", "disk I/O error", "unable to open database"].iter().any(|t| text.contains(t))
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        if database_unavailable(&e) {
            ApiError::unavailable(format!("database: {e}"))
        } else {
            ApiError::internal(format!("database: {e}"))
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Masks any run of nine or more digits, so no number a client sent is echoed back.
pub fn redact_digits(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut run = String::new();
    for c in message.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        if run.len() >= 9 {
            out.push_str(&"*".repeat(run.len()));
        } else {
            out.push_str(&run);
        }
        run.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}
