//! Request and response types of the HTTP API, in camelCase JSON.

mod common;
mod intents;
mod keys;
mod payments;

pub use common::*;
pub use intents::*;
pub use keys::*;
pub use payments::*;
