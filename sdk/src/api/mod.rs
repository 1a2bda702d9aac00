//! Request and response types of the HTTP API, in camelCase JSON.

mod common;
mod intents;
mod keys;
mod orders;
mod payments;
mod users;
mod webhooks;

pub use common::*;
pub use intents::*;
pub use keys::*;
pub use orders::*;
pub use payments::*;
pub use users::*;
pub use webhooks::*;
