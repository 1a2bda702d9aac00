//! The console's screens.

pub mod payment;
pub mod payments;
pub mod sign_in;
