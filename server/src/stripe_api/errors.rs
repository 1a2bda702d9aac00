//! Kassa's errors as Stripe writes them: `{"error": {"type", "code", "decline_code", "param",
//! "message"}}`, with the statuses Stripe's clients turn into their own exceptions (400
//! `InvalidRequestError`, 401 `AuthenticationError`, 402 `CardError`, 403 `PermissionError`, 404,
//! 409 `IdempotencyError`, 429 `RateLimitError`, 5xx `APIError`).

use kassa::{ErrorBody, ErrorCode};
use serde_json::{json, Value};

use crate::error::redact_digits;

/// Stripe's answer for a Kassa error: its status, body, and whether a client should retry it
/// (`Stripe-Should-Retry`).
pub struct StripeError {
    pub status: u16,
    pub body: Value,
    pub retry: Option<bool>,
}

/// The Stripe parameter a Kassa field name stands for (`amountCents` → `amount`).
fn param_of(field: &str) -> String {
    match field {
        "amountCents" => "amount".into(),
        "customerId" => "customer".into(),
        "paymentMethodId" | "token" | "card" => "payment_method".into(),
        "returnUrl" => "return_url".into(),
        "saveCard" => "setup_future_usage".into(),
        "reference" => "description".into(),
        other if other.contains('[') || !other.chars().any(char::is_uppercase) => other.into(),
        other => other.chars().fold(String::new(), |mut out, c| {
            if c.is_uppercase() {
                out.push('_');
                out.extend(c.to_lowercase());
            } else {
                out.push(c);
            }
            out
        }),
    }
}

/// Stripe's code for a decline: most are `card_declined` with the reason in `decline_code`; a
/// few have codes of their own.
pub fn decline_error_code(decline_code: &str) -> &str {
    match decline_code {
        "expired_card" | "incorrect_cvc" | "processing_error" | "incorrect_number" | "authentication_required" => decline_code,
        _ => "card_declined",
    }
}

/// An error says what was wrong, never what was sent: a long run of digits (a card number, in a
/// path or a parameter's value or name) is masked wherever it would be repeated.
pub fn translate(error: &ErrorBody, payment_intent: Option<Value>) -> StripeError {
    let details = error.details.as_ref();
    let detail = |name: &str| details.and_then(|d| d.get(name)).and_then(Value::as_str).map(redact_digits);
    let mut body = json!({ "message": redact_digits(&error.message) });
    let (status, kind, code, retry): (u16, &str, Option<String>, Option<bool>) = match error.code {
        ErrorCode::ValidationError => {
            let param = detail("field").map(|f| param_of(&f));
            if let Some(param) = &param {
                body["param"] = json!(param);
            }
            (400, "invalid_request_error", Some(detail("stripeCode").unwrap_or_else(|| "parameter_invalid_string".into())), None)
        }
        ErrorCode::Unauthenticated => (401, "invalid_request_error", None, None),
        ErrorCode::CardDeclined => {
            let decline_code = detail("declineCode").unwrap_or_else(|| "generic_decline".into());
            body["decline_code"] = json!(decline_code);
            (402, "card_error", Some(decline_error_code(&decline_code).to_owned()), None)
        }
        ErrorCode::Forbidden => (403, "invalid_request_error", Some("secret_key_required".into()), None),
        ErrorCode::NotFound => {
            body["param"] = json!(detail("field").map(|f| param_of(&f)).unwrap_or_else(|| "id".into()));
            (404, "invalid_request_error", Some("resource_missing".into()), None)
        }
        ErrorCode::MethodNotAllowed => (405, "invalid_request_error", None, None),
        ErrorCode::InvalidState => {
            let code = detail("stripeCode").unwrap_or_else(|| {
                if details.and_then(|d| d.get("refundableCents")).is_some() {
                    body["param"] = json!("amount");
                    "amount_too_large".into()
                } else {
                    "payment_intent_unexpected_state".into()
                }
            });
            (400, "invalid_request_error", Some(code), None)
        }
        // The same key for another request is Stripe's 400 `idempotency_error` (which the clients
        // raise as their IdempotencyError); a key whose first request is still running is a 409
        // the clients retry.
        ErrorCode::DuplicateRequest if details.and_then(|d| d.get("retryable")).and_then(Value::as_bool) == Some(true) => {
            (409, "invalid_request_error", Some("idempotency_key_in_use".into()), Some(true))
        }
        ErrorCode::DuplicateRequest => (400, "idempotency_error", None, Some(false)),
        ErrorCode::PayloadTooLarge => (413, "invalid_request_error", None, Some(false)),
        ErrorCode::RateLimited => (429, "invalid_request_error", Some("rate_limit".into()), Some(true)),
        ErrorCode::Internal => (500, "api_error", None, None),
        // The processor failed or did not answer: whether it was charged is for the retry (under
        // the same key) to find out, so the clients may send it again.
        ErrorCode::ProviderError => (502, "api_error", Some("processing_error".into()), Some(true)),
        ErrorCode::ServiceUnavailable => (503, "api_error", None, Some(true)),
        ErrorCode::ProviderTimeout => (504, "api_error", Some("processing_error".into()), Some(true)),
    };
    body["type"] = json!(kind);
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    if let Some(intent) = payment_intent {
        body["payment_intent"] = intent;
    }
    StripeError { status, body: json!({ "error": body }), retry }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decline_is_a_card_error_with_its_decline_code() {
        let e = ErrorBody {
            code: ErrorCode::CardDeclined,
            message: "The card has insufficient funds".into(),
            details: Some(json!({ "declineCode": "insufficient_funds" })),
        };
        let out = translate(&e, None);
        assert_eq!(out.status, 402);
        assert_eq!(out.body["error"]["type"], "card_error");
        assert_eq!(out.body["error"]["code"], "card_declined");
        assert_eq!(out.body["error"]["decline_code"], "insufficient_funds");
        let expired = ErrorBody { details: Some(json!({ "declineCode": "expired_card" })), ..e };
        assert_eq!(translate(&expired, None).body["error"]["code"], "expired_card");
    }

    #[test]
    fn kassa_field_names_become_stripe_parameters() {
        assert_eq!(param_of("amountCents"), "amount");
        assert_eq!(param_of("captureMethod"), "capture_method");
        assert_eq!(param_of("saveCard"), "setup_future_usage");
        assert_eq!(param_of("card[exp_month]"), "card[exp_month]");
    }
}
