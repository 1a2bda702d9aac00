//! The one contract between the browser and the Kassa server.
//!
//! Request, response, error and event types live here once; `kassa-server` uses them with the
//! `sqlx` and `openapi` features, and the browser uses them compiled to WebAssembly.

pub mod api;
pub mod card;
pub mod client;
pub mod error;
pub mod id;
pub mod messages;
pub mod money;
pub mod webhook;

pub use error::{ErrorBody, ErrorCode, ErrorEnvelope};
pub use money::{Currency, MinorUnits, MoneyError};
