//! An idempotent request's key and its recorded reply: the key a request runs under (whose it is,
//! which request it names), and the reply saved, sealed, in the same transaction as the request's
//! effect, so that a retry gets the very same answer. The HTTP layer (`crate::http::idempotency`)
//! reads the key from the request and replays a saved reply.

use std::sync::Arc;

use kassa::id::MerchantId;
use kassa::ErrorCode;
use serde_json::json;

use crate::crypto::Keyring;
use crate::error::ApiError;
use crate::store::idempotency::{self, Owner};
use crate::store::Tx;

pub const MAX_KEY_LEN: usize = kassa::api::IDEMPOTENCY_KEY_MAX_LEN;

/// How long a claimed key is trusted to be running before a retry may take it over (when its
/// request claimed nothing that is still pending: that one the reconciler finishes).
pub const LOCK_TTL_MS: i64 = 60_000;

/// How long a reply is kept for replays.
pub const KEEP_MS: i64 = 24 * 3600 * 1000;

/// What a stored fingerprint is a keyed digest for: a request's body may hold a card number and
/// CVC, so its digest is kept only keyed with the server's keys ([`Keyring::mac`]).
pub const FINGERPRINT: &str = "idempotency-fingerprint";

/// Keys the fingerprints stored before they were keyed: each unkeyed SHA-256 becomes the keyed
/// digest of those 32 bytes, which is what a request's fingerprint is now, so a retry of a request
/// made before still matches it. Returns how many it keyed.
pub async fn key_stored_fingerprints(store: &crate::store::Store, keyring: &Arc<Keyring>) -> Result<usize, sqlx::Error> {
    let unkeyed = idempotency::unkeyed_fingerprints(store).await?;
    let count = unkeyed.len();
    for (merchant, scope, key, old) in unkeyed {
        // Anything else in the column is no request's digest: it is keyed all the same, so that
        // nothing unkeyed is left, and it then matches no request.
        let digest = hex::decode(&old).unwrap_or_else(|_| old.clone().into_bytes());
        let new = keyring.mac(FINGERPRINT, &digest);
        store
            .write(move |tx| {
                Box::pin(async move {
                    idempotency::set_fingerprint(tx, &Owner { merchant: &merchant, scope: &scope, key: &key }, &old, &new).await
                })
            })
            .await?;
    }
    Ok(count)
}

/// The key a request runs under: whose it is, what request it names, and how its reply is sealed.
#[derive(Clone)]
pub struct IdempotencyKey {
    pub merchant: MerchantId,
    /// Whose keys these are: the API key's id, or the console user's ([`crate::merchants::Caller::scope`]).
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    pub keyring: Arc<Keyring>,
}

impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyKey").field("key", &self.key).finish_non_exhaustive()
    }
}

impl IdempotencyKey {
    pub fn owner(&self) -> Owner<'_> {
        Owner { merchant: &self.merchant, scope: &self.scope, key: &self.key }
    }

    /// Claims the key for a request about to move money (see [`idempotency::begin`]).
    pub async fn begin(&self, tx: &mut Tx, now: i64) -> Result<(), ApiError> {
        if idempotency::begin(tx, &self.owner(), &self.fingerprint, now, now - LOCK_TTL_MS).await? {
            Ok(())
        } else {
            Err(still_running())
        }
    }
}

/// The context a reply is sealed with: it opens only as the reply to this very key.
pub fn seal_context(owner: &Owner<'_>) -> String {
    format!("idempotency:{}:{}:{}", owner.merchant, owner.scope, owner.key)
}

pub fn still_running() -> ApiError {
    ApiError::new(ErrorCode::DuplicateRequest, "A request with this idempotency key is still in progress; retry shortly")
        .with_details(json!({ "retryable": true }))
}

/// What the handler hands back: the status and exact bytes, saved with the key when there is one.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The answer's status, as the contract gives each code and success its one status.
    pub status: u16,
    pub body: Vec<u8>,
}

impl Recorded {
    /// A new object, as `201 Created` answers it.
    pub fn created<T: serde::Serialize>(value: &T) -> Recorded {
        Recorded { status: 201, body: serde_json::to_vec(value).unwrap_or_default() }
    }

    /// A change or a read, as `200 OK` answers it.
    pub fn ok<T: serde::Serialize>(value: &T) -> Recorded {
        Recorded { status: 200, body: serde_json::to_vec(value).unwrap_or_default() }
    }

    pub fn error(error: &ApiError) -> Recorded {
        Recorded { status: error.code.http_status(), body: error.body_bytes() }
    }

    /// Saves this reply, sealed, under the request's key, inside the transaction of its effect.
    /// Another request that holds the key makes this a `DUPLICATE_REQUEST` (and the effect is
    /// rolled back with it).
    pub async fn save(&self, tx: &mut Tx, _merchant: &MerchantId, key: Option<&IdempotencyKey>, now: i64) -> Result<(), ApiError> {
        let Some(k) = key else { return Ok(()) };
        let sealed = k.keyring.seal(&self.body, seal_context(&k.owner()).as_bytes());
        if idempotency::finish(tx, &k.owner(), &k.fingerprint, self.status, &sealed, now).await? {
            Ok(())
        } else {
            Err(still_running())
        }
    }
}
