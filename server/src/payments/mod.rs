//! The payment flows. Every step that moves money claims its right first, calls the processor
//! only when it won, and records the outcome afterwards (see [`operation`]): of two racing
//! requests one reaches the processor, and a crash in between is settled by the reconciler.

mod charge;
mod checks;
mod context;
mod lifecycle;
pub mod operation;
mod outcome;
pub mod processor_events;
mod reads;
mod sources;
pub mod three_ds;

pub use charge::{charge, confirm, create_intent, create_token, intent_for_client, retry, update_intent};
pub use lifecycle::{adjust_tip, cancel, capture, refund, resolve, void};
pub use operation::{reconcile, retry_unsent, spawn_reconciler};
pub use reads::{count_failed, get_intent, history, list, list_failed};

pub use context::{hash_secret, secret_matches, Ctx, MAX_AMOUNT_CENTS, MAX_TEXT};
pub(crate) use outcome::processor_failure;
pub use outcome::{public_decline_code, public_error, OnFailure};
pub(crate) use sources::{spend_token, TOKEN_USED};
