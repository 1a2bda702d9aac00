//! What every payment flow shares: the request's view ([`Ctx`], which every domain module takes),
//! the limits, the secret hashing, and the imports the flows have in common.

pub(super) use kassa::api::{CardInput, CardSummary, IntentStatus, LastError, NextAction, TransactionStatus, TransactionType};
pub(super) use kassa::card::Expiry;
pub(super) use kassa::id::{CustomerId, MerchantId, PaymentIntentId, PaymentMethodId, TokenId};
pub(super) use kassa::ErrorCode;
pub(super) use serde_json::json;
pub(super) use sha2::{Digest, Sha256};

pub(super) use crate::clock::year_month;
pub use crate::context::Ctx;
pub(super) use crate::error::{ApiError, ApiResult};
pub(super) use crate::idempotency::IdempotencyKey;
pub(super) use crate::ids;
pub(super) use crate::merchants::Caller;
pub(super) use crate::processor::{CardData, Outcome, ProcessorError, Reply};
pub(super) use crate::state::AppState;
pub(super) use crate::store::customers::{self, StoredMethod};
pub(super) use crate::store::intents::{self, IntentRecord, NewTransaction};
pub(super) use crate::store::tokens::{self, StoredToken};
pub(super) use crate::store::Tx;
pub(super) use serde::{Deserialize, Serialize};

pub use kassa::money::MAX_AMOUNT_CENTS;
pub const MAX_TEXT: usize = 255;
pub(super) const MAX_METADATA_KEYS: usize = 50;

/// SHA-256, hex: how client secrets and session secrets are stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored`, compared in constant time.
pub fn secret_matches(secret: &str, stored: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    stored.is_some_and(|stored| bool::from(hash_secret(secret).as_bytes().ct_eq(stored.as_bytes())))
}

pub(super) async fn load(ctx: &Ctx<'_>, id: &PaymentIntentId) -> ApiResult<IntentRecord> {
    intents::find(&ctx.state.store, ctx.merchant, id).await?.ok_or_else(|| ApiError::not_found("payment intent"))
}

pub(super) fn refused(intent: &IntentRecord, action: &str, allowed: &str) -> ApiError {
    ApiError::invalid_state(format!("A payment that is {} cannot be {action}; only {allowed} payments can", intent.status.as_str()))
        .with_details(json!({ "status": intent.status }))
}

/// Waits for a processor call at most `limit`; after that its outcome is unknown.
pub(super) async fn within<T, F: std::future::Future<Output = Result<T, ProcessorError>>>(
    limit: std::time::Duration,
    call: F,
) -> Result<T, ProcessorError> {
    tokio::time::timeout(limit, call).await.unwrap_or(Err(ProcessorError::Timeout))
}

/// What the return address's own proof is a keyed digest for.
const RETURN_PROOF: &str = "three-ds-return";
/// The return address's query parameter that carries it.
pub(super) const RETURN_PARAM: &str = "kassa_return";

/// Where the processor's challenge page sends the cardholder back: Kassa's return address for
/// this payment, with a proof keyed with the server's keys, so that a return is checked before
/// anything is asked of the processor (nobody but Kassa can make that address for a payment).
pub(super) fn return_url(state: &AppState, public_base: &str, payment_id: &str) -> String {
    format!("{public_base}/3ds/{payment_id}/return?{RETURN_PARAM}={}", state.keyring.mac(RETURN_PROOF, payment_id.as_bytes()))
}

/// Whether `proof` is the one [`return_url`] made for this payment.
pub(super) fn return_proof_matches(state: &AppState, payment_id: &str, proof: &str) -> bool {
    state.keyring.mac_matches(RETURN_PROOF, payment_id.as_bytes(), proof)
}
