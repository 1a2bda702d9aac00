//! Fresh ids and secrets.

use kassa::id::RANDOM_LEN;
use rand::distributions::{Alphanumeric, DistString};
use rand::RngCore;

/// Characters of the time prefix: base62 milliseconds, enough until the year 8000.
const TIME_DIGITS: usize = 8;

/// A fresh typed id, e.g. `ids::new::<PaymentIntentId>()`: a millisecond timestamp, then 16
/// random characters (about 95 bits). Ids made later sort later, so inserts land at the end of
/// each index instead of on random pages, and a commit writes fewer pages.
pub fn new<T: FromRandom>() -> T {
    let mut bytes = [0u8; RANDOM_LEN];
    rand::thread_rng().fill_bytes(&mut bytes);
    let mut millis = crate::clock::now_ms().max(0) as u64;
    for slot in bytes[..TIME_DIGITS].iter_mut().rev() {
        *slot = (millis % 62) as u8;
        millis /= 62;
    }
    T::from_random(&bytes)
}

#[cfg(test)]
mod tests {
    use kassa::id::PaymentIntentId;

    #[test]
    fn ids_made_later_sort_later() {
        let first: PaymentIntentId = super::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second: PaymentIntentId = super::new();
        assert!(first < second, "{first} {second}");
        assert_ne!(super::new::<PaymentIntentId>(), super::new::<PaymentIntentId>());
    }
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
    kassa::id::TokenId,
    kassa::id::SetupIntentId,
    kassa::id::PaymentMethodId,
    kassa::id::CustomerId,
    kassa::id::OrderId,
    kassa::id::EventId,
    kassa::id::OrderPaymentId,
    kassa::id::WebhookEndpointId,
    kassa::id::DeliveryId,
    kassa::id::UserId
);

/// The id of the card saved from single-use token `token`: the token's own characters under the
/// saved card's prefix (`tok_X` → `pm_X`), so that a card keeps one id from being tokenized to
/// being saved, as a Stripe PaymentMethod does when it is attached to a customer.
pub fn saved_from(token: &kassa::id::TokenId) -> kassa::id::PaymentMethodId {
    let rest = token.as_str().strip_prefix(kassa::id::TokenId::PREFIX).unwrap_or_default();
    format!("{}{rest}", kassa::id::PaymentMethodId::PREFIX).parse().expect("a token's characters make a payment method id")
}
