//! Fresh ids and secrets.

use kassa::id::RANDOM_LEN;
use rand::distributions::{Alphanumeric, DistString};
use rand::RngCore;

/// A fresh typed id, e.g. `ids::new::<PaymentIntentId>()`.
pub fn new<T: FromRandom>() -> T {
    let mut bytes = [0u8; RANDOM_LEN];
    rand::thread_rng().fill_bytes(&mut bytes);
    T::from_random(&bytes)
}

/// A secret: `prefix` followed by 32 random alphanumerics (about 190 bits).
pub fn secret(prefix: &str) -> String {
    format!("{prefix}{}", Alphanumeric.sample_string(&mut rand::thread_rng(), 32))
}

pub trait FromRandom {
    fn from_random(bytes: &[u8; RANDOM_LEN]) -> Self;
}

macro_rules! from_random {
    ($($t:ty),*) => {$(
        impl FromRandom for $t {
            fn from_random(bytes: &[u8; RANDOM_LEN]) -> Self { <$t>::from_random(bytes) }
        }
    )*};
}

from_random!(
    kassa::id::MerchantId,
    kassa::id::ApiKeyId,
    kassa::id::PaymentIntentId,
    kassa::id::TransactionId,
    kassa::id::TokenId
);
