//! `kassa-server`: the HTTP API, its storage and the card processors behind it.
//!
//! The domain is one function an operation (`payments`, `customers`, `orders`, `webhooks`,
//! `merchants`), which knows no HTTP: it takes the request's [`context::Ctx`] and the contract's
//! request type, and answers with the data, or for a write with the reply it saved under the
//! idempotency key. Each face (`http`, Kassa's own API) checks the caller's permission, reads its
//! wire format and calls it.

pub mod caches;
pub mod clock;
pub mod context;
pub mod crypto;
pub mod customers;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod merchants;
pub mod orders;
pub mod payments;
pub mod processor;
pub mod rate_limit;
pub mod state;
pub mod store;
pub mod stripe_api;
pub mod users;
pub mod webhooks;

pub use http::{app, app_with_pages, StaticDirs};
pub use state::AppState;
