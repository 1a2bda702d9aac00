//! The console's screens.

pub mod developers;
pub mod failed;
pub mod orders;
pub mod payment;
pub mod payments;
pub mod sign_in;
