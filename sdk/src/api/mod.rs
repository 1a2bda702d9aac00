//! Request and response types of the HTTP API, in camelCase JSON.

mod common;
mod keys;
mod payments;

pub use common::*;
pub use keys::*;
pub use payments::*;
