//! Typed, prefixed ids. Parsing checks the prefix, so an order id can never stand where an intent
//! id belongs.

use std::fmt;
use std::str::FromStr;

/// Characters after the prefix: base62, so ids are safe in paths and query strings.
const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Length of the random part of a generated id.
pub const RANDOM_LEN: usize = 24;
const MAX_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an id starting with `{expected}`")]
pub struct IdError {
    pub expected: &'static str,
}

/// Encodes random bytes as the random part of an id (base62, one character per byte).
pub fn encode_random(bytes: &[u8; RANDOM_LEN]) -> String {
    bytes.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}

fn valid_body(body: &str) -> bool {
    !body.is_empty() && body.len() <= MAX_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric())
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// Builds an id from the random part (see [`encode_random`]).
            pub fn from_random(bytes: &[u8; RANDOM_LEN]) -> Self {
                Self(format!("{}{}", $prefix, encode_random(bytes)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                match s.strip_prefix($prefix) {
                    Some(body) if valid_body(body) => Ok(Self(s.to_owned())),
                    _ => Err(IdError { expected: $prefix }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        /// In TypeScript, a string with the id's prefix: an order id cannot stand for an intent's.
        #[cfg(feature = "typescript")]
        impl ts_rs::TS for $name {
            type WithoutGenerics = Self;
            type OptionInnerType = Self;
            fn name(_: &ts_rs::Config) -> String {
                stringify!($name).to_owned()
            }
            fn inline(_: &ts_rs::Config) -> String {
                concat!("`", $prefix, "${string}`").to_owned()
            }
            fn decl(cfg: &ts_rs::Config) -> String {
                format!("type {} = {};", Self::name(cfg), Self::inline(cfg))
            }
            fn decl_concrete(cfg: &ts_rs::Config) -> String {
                Self::decl(cfg)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(concat!("An id starting with `", $prefix, "`")))
                    .pattern(Some(concat!("^", $prefix, "[0-9A-Za-z]+$")))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        #[cfg(feature = "sqlx")]
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            String: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <String as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(s.parse()?)
            }
        }
    };
}

typed_id!(/// A merchant (tenant).
    MerchantId, "mer_");
typed_id!(/// An API key's public id (never the key itself).
    ApiKeyId, "key_");
typed_id!(/// A payment intent.
    PaymentIntentId, "pi_");
typed_id!(/// One processor call recorded on an intent.
    TransactionId, "txn_");
typed_id!(/// A single-use card token.
    TokenId, "tok_");
typed_id!(/// A customer's saved payment method.
    PaymentMethodId, "pm_");
typed_id!(/// A customer.
    CustomerId, "cus_");
typed_id!(/// An order.
    OrderId, "ord_");
typed_id!(/// An event.
    EventId, "evt_");
typed_id!(/// A payment in an order's ledger.
    OrderPaymentId, "opay_");
typed_id!(/// A webhook endpoint.
    WebhookEndpointId, "we_");
typed_id!(/// One delivery of an event to an endpoint.
    DeliveryId, "whd_");
typed_id!(/// A person who signs in to the merchant console.
    UserId, "usr_");
typed_id!(/// A customer's card being saved without a payment.
    SetupIntentId, "seti_");

/// Splits a client secret (`pi_…_secret_…`) into the intent it belongs to and itself.
pub fn intent_of_client_secret(secret: &str) -> Option<PaymentIntentId> {
    let (id, rest) = secret.split_once("_secret_")?;
    (!rest.is_empty()).then(|| id.parse().ok()).flatten()
}

/// Splits a customer session secret (`cus_…_session_…`) into its customer.
pub fn customer_of_session(secret: &str) -> Option<CustomerId> {
    let (id, rest) = secret.split_once("_session_")?;
    (!rest.is_empty()).then(|| id.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_checks_the_prefix() {
        assert!("pi_abc123".parse::<PaymentIntentId>().is_ok());
        let err = "ord_abc123".parse::<PaymentIntentId>().unwrap_err();
        assert_eq!(err.expected, "pi_");
        assert!("pi_".parse::<PaymentIntentId>().is_err());
        assert!("pi_abc/../x".parse::<PaymentIntentId>().is_err());
        assert!("pi_ab c".parse::<PaymentIntentId>().is_err());
    }

    #[test]
    fn generated_ids_round_trip_through_json() {
        let id = PaymentIntentId::from_random(&[7u8; RANDOM_LEN]);
        assert!(id.as_str().starts_with("pi_"));
        assert_eq!(id.as_str().len(), 3 + RANDOM_LEN);
        let json = serde_json::to_string(&id).unwrap();
        let back: PaymentIntentId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<OrderId>(&json).is_err());
    }
}
