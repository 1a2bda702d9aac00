//! `kassa-server`: the HTTP API, its storage and the card processors behind it.

pub mod caches;
pub mod clock;
pub mod crypto;
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
pub mod users;
pub mod webhooks;

pub use http::{app, app_with_pages, StaticDirs};
pub use state::AppState;
