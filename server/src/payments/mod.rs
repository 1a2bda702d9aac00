//! The payment flows. Every step that moves money claims its right first, calls the processor
//! only when it won, and records the outcome afterwards (see [`operation`]): of two racing
//! requests one reaches the processor, and a crash in between is settled by the reconciler.

mod charge;
mod checks;
mod outcome;
mod sources;
mod lifecycle;
pub mod operation;
pub mod processor_events;
pub mod three_ds;

pub use charge::{charge, confirm, create_intent, create_token, intent_for_client, retry, update_intent};
pub use lifecycle::{adjust_tip, capture, refund, resolve, void};
pub use operation::{reconcile, spawn_reconciler};

use checks::*;
use sources::*;
pub use outcome::{public_decline_code, public_error, OnFailure};
pub(crate) use outcome::{apply_authorization, decline, processor_failure, record_steps, Step};
pub(crate) use sources::{save_card_if_asked, spend_token, TOKEN_USED};

use kassa::api::{
    CardInput, CardSummary, IntentStatus, LastError, NextAction, TransactionStatus, TransactionType,
};
use kassa::card::Expiry;
use kassa::id::{CustomerId, MerchantId, PaymentIntentId, PaymentMethodId, TokenId};
use kassa::ErrorCode;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::clock::year_month;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::http::idempotency::IdempotencyKey;
use crate::ids;
use crate::processor::{CardData, Outcome, ProcessorError, Reply};
use serde::{Deserialize, Serialize};
use crate::state::AppState;
use crate::store::customers::{self, StoredMethod};
use crate::store::intents::{self, IntentRecord, NewTransaction};
use crate::store::tokens::{self, StoredToken};
use crate::store::Tx;

/// The largest amount Kassa accepts, in minor units (a hundred million major units at exponent 2).
pub const MAX_AMOUNT_CENTS: i64 = 10_000_000_000;
pub const MAX_TEXT: usize = 255;
const MAX_METADATA_KEYS: usize = 50;

/// One request's view: who it is for, who asks, the idempotency key it runs under, and the
/// address the server is reached at (for links such as the 3-D Secure page).
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub merchant: &'a MerchantId,
    /// The key that asks; `None` for Kassa's own pages (the 3-D Secure page, the demo shop).
    pub caller: Option<&'a Caller>,
    pub key: Option<&'a IdempotencyKey>,
    pub public_base: &'a str,
}

impl Ctx<'_> {
    fn publishable(&self) -> bool {
        self.caller.is_some_and(|c| c.kind == kassa::api::KeyKind::Publishable)
    }

    fn require(&self, permission: kassa::api::Permission) -> ApiResult<()> {
        self.caller.map_or(Ok(()), |c| c.require(permission))
    }
}

/// SHA-256, hex: how client secrets and session secrets are stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored`, compared in constant time.
pub fn secret_matches(secret: &str, stored: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    stored.is_some_and(|stored| bool::from(hash_secret(secret).as_bytes().ct_eq(stored.as_bytes())))
}

async fn load(ctx: &Ctx<'_>, id: &PaymentIntentId) -> ApiResult<IntentRecord> {
    intents::find(&ctx.state.store, ctx.merchant, id).await?.ok_or_else(|| ApiError::not_found("payment intent"))
}

fn refused(intent: &IntentRecord, action: &str, allowed: &str) -> ApiError {
    ApiError::invalid_state(format!(
        "A payment that is {} cannot be {action}; only {allowed} payments can",
        intent.status.as_str()
    ))
    .with_details(json!({ "status": intent.status }))
}

impl IntentRecord {
    /// The intent as the caller may see it: a publishable key is not told hidden decline codes or
    /// the CVC check's result.
    pub fn to_api_for(&self, publishable: bool) -> kassa::api::PaymentIntent {
        let mut api = self.to_api();
        if publishable {
            api.cvv_response = None;
            if let Some(code) = api.last_error.as_mut().and_then(|e| e.decline_code.as_mut()) {
                *code = public_decline_code(code, true).to_owned();
            }
        }
        api
    }
}
