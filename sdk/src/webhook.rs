//! Webhook signatures: `Kassa-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Events older (or newer) than this many seconds are refused, so a captured request cannot be
/// replayed later.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the Kassa-Signature header is malformed")]
    MalformedHeader,
    #[error("the signature timestamp is outside the tolerance")]
    TimestampOutsideTolerance,
    #[error("no signature matches the payload and secret")]
    SignatureMismatch,
}

impl WebhookError {
    pub fn code(self) -> &'static str {
        match self {
            WebhookError::MalformedHeader => "malformed_header",
            WebhookError::TimestampOutsideTolerance => "timestamp_outside_tolerance",
            WebhookError::SignatureMismatch => "signature_mismatch",
        }
    }
}

fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// The `Kassa-Signature` header for `payload` signed at `timestamp`.
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let signature = hex::encode(mac(secret, timestamp, payload).finalize().into_bytes());
    format!("t={timestamp},v1={signature}")
}

/// Checks a `Kassa-Signature` header against the raw payload; any `v1` entry may match (a
/// rotated secret signs with both). Comparison is in constant time.
pub fn verify(payload: &[u8], header: &str, secret: &str, now: i64, tolerance_seconds: i64) -> Result<(), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t.parse::<i64>().map_err(|_| WebhookError::MalformedHeader)?),
            Some(("v1", v)) => signatures.push(hex::decode(v).map_err(|_| WebhookError::MalformedHeader)?),
            Some(_) => {}
            None => return Err(WebhookError::MalformedHeader),
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::MalformedHeader)?;
    if signatures.is_empty() {
        return Err(WebhookError::MalformedHeader);
    }
    if (now - timestamp).abs() > tolerance_seconds {
        return Err(WebhookError::TimestampOutsideTolerance);
    }
    let expected = mac(secret, timestamp, payload).finalize().into_bytes();
    let matched = signatures.iter().fold(0u8, |any, s| any | expected.as_slice().ct_eq(s).unwrap_u8());
    if matched == 1 {
        Ok(())
    } else {
        Err(WebhookError::SignatureMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    #[test]
    fn a_signature_verifies_with_its_secret_only() {
        let header = sign(BODY, "whsec_a", 1_700_000_000);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(verify(BODY, &header, "whsec_a", 1_700_000_100, 300), Ok(()));
        assert_eq!(verify(BODY, &header, "whsec_b", 1_700_000_100, 300), Err(WebhookError::SignatureMismatch));
        assert_eq!(verify(b"{}", &header, "whsec_a", 1_700_000_100, 300), Err(WebhookError::SignatureMismatch));
    }

    #[test]
    fn a_stale_or_malformed_header_is_refused() {
        let header = sign(BODY, "whsec_a", 1_700_000_000);
        assert_eq!(verify(BODY, &header, "whsec_a", 1_700_000_301, 300), Err(WebhookError::TimestampOutsideTolerance));
        assert_eq!(verify(BODY, &header, "whsec_a", 1_699_999_699, 300), Err(WebhookError::TimestampOutsideTolerance));
        assert_eq!(verify(BODY, "v1=abcd", "whsec_a", 0, 300), Err(WebhookError::MalformedHeader));
        assert_eq!(verify(BODY, "t=1,v1=zz", "whsec_a", 1, 300), Err(WebhookError::MalformedHeader));
        assert_eq!(verify(BODY, "t=1", "whsec_a", 1, 300), Err(WebhookError::MalformedHeader));
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let good = sign(BODY, "whsec_new", 50);
        let old = sign(BODY, "whsec_old", 50);
        let both = format!("{},{}", old, good.split_once(',').unwrap().1);
        assert_eq!(verify(BODY, &both, "whsec_new", 60, 300), Ok(()));
        assert_eq!(verify(BODY, &both, "whsec_old", 60, 300), Ok(()));
    }
}
