//! The messages the embedded checkout and the shop's page send each other with `postMessage`, and
//! the one the 3-D Secure page sends the window that shows it. Each carries a `source` naming its
//! sender, so a page's other messages are never mistaken for Kassa's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::PaymentIntent;
use crate::card::CardBrand;
use crate::client::KassaError;
use crate::money::{Currency, MinorUnits};

/// The `source` of what the checkout sends.
pub const FROM_CHECKOUT: &str = "kassa-checkout";
/// The `source` of what the shop's page sends the checkout.
pub const FROM_PARENT: &str = "kassa-parent";
/// The `source` of what the 3-D Secure page sends.
pub const FROM_CHALLENGE: &str = "kassa";

/// What the checkout tells the shop's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum CheckoutMessage {
    /// The intent is loaded and the form shown.
    #[serde(rename_all = "camelCase")]
    Ready { amount_cents: MinorUnits, currency: Currency },
    /// The card form changed: whether it is complete, and the brand typed so far.
    Change { complete: bool, brand: CardBrand },
    /// The payment went through.
    #[serde(rename_all = "camelCase")]
    Success { payment_intent: Box<PaymentIntent> },
    /// The intent could not be loaded, or a payment failed.
    Error { error: KassaError },
    /// The checkout's height in CSS pixels, for the iframe to fit it.
    Resize { height: f64 },
}

/// The checkout's look, as the shop's page sets it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct Appearance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<Theme>,
    /// CSS variables of the checkout, e.g. `{ "--kassa-accent": "#0a7d5a" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(type = "Record<`--kassa-${string}`, string>"))]
    pub variables: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    Light,
    Dark,
}

/// What the shop's page tells the checkout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ParentMessage {
    /// A new locale or look, or news that the intent's amount changed (the checkout reloads it).
    Update(CheckoutUpdate),
}

/// What an update may change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
pub struct CheckoutUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appearance: Option<Appearance>,
}

/// Who sent a message, and which it is.
#[derive(Deserialize)]
struct Envelope<'a> {
    source: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// The `type` of a message from `source` in `json`.
fn kind_from<'a>(json: &'a str, source: &str) -> Option<&'a str> {
    serde_json::from_str::<Envelope>(json).ok().filter(|e| e.source == source).map(|e| e.kind)
}

impl ParentMessage {
    /// Reads a message the checkout received, as JSON text. Written out rather than derived:
    /// serde's buffering of tagged enums would weigh on the checkout's download.
    pub fn read(json: &str) -> Option<ParentMessage> {
        match kind_from(json, FROM_PARENT)? {
            "update" => serde_json::from_str(json).ok().map(ParentMessage::Update),
            _ => None,
        }
    }
}

/// What the 3-D Secure page tells the window it is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChallengeMessage {
    /// The bank's page finished: the payment can be looked at again.
    ThreeDsComplete,
    /// The cardholder pressed Escape in the bank's page.
    ThreeDsEscape,
}

impl ChallengeMessage {
    /// Reads a message from the 3-D Secure page, as JSON text (see [`ParentMessage::read`]).
    pub fn read(json: &str) -> Option<ChallengeMessage> {
        match kind_from(json, FROM_CHALLENGE)? {
            "three_ds_complete" => Some(ChallengeMessage::ThreeDsComplete),
            "three_ds_escape" => Some(ChallengeMessage::ThreeDsEscape),
            _ => None,
        }
    }
}

/// `message` with its sender, as the pages send it: `{"source": …, "type": …, …}`.
pub fn sent<M: Serialize>(source: &str, message: &M) -> serde_json::Value {
    let mut value = serde_json::to_value(message).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("source".into(), source.into());
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_and_write_as_the_pages_send_them() {
        let ready = sent(FROM_CHECKOUT, &CheckoutMessage::Ready { amount_cents: MinorUnits(2698), currency: Currency::EUR });
        assert_eq!(ready, serde_json::json!({ "source": "kassa-checkout", "type": "ready", "amountCents": 2698, "currency": "EUR" }));
        let update = serde_json::json!({ "source": "kassa-parent", "type": "update", "locale": "de", "appearance": { "theme": "dark", "variables": { "--kassa-accent": "#000" } } });
        let Some(ParentMessage::Update(CheckoutUpdate { locale, appearance })) = ParentMessage::read(&update.to_string()) else { panic!("an update") };
        assert_eq!(locale.as_deref(), Some("de"));
        assert_eq!(appearance.unwrap().theme, Some(Theme::Dark));
        let mut elsewhere = update.clone();
        elsewhere["source"] = "kassa-checkout".into();
        assert_eq!(ParentMessage::read(&elsewhere.to_string()), None, "another sender");
        // The hand-written readers agree with the types' own serde names.
        let update = ParentMessage::Update(CheckoutUpdate { locale: Some("en".into()), appearance: None });
        assert_eq!(ParentMessage::read(&sent(FROM_PARENT, &update).to_string()), Some(update));
        for message in [ChallengeMessage::ThreeDsComplete, ChallengeMessage::ThreeDsEscape] {
            assert_eq!(ChallengeMessage::read(&sent(FROM_CHALLENGE, &message).to_string()), Some(message));
        }
        assert_eq!(ChallengeMessage::read(r#"{"source":"kassa","type":"reload"}"#), None);
        assert_eq!(ChallengeMessage::read("not json"), None);
    }
}
