//! The messages the embedded checkout and the shop's page send each other with `postMessage`, and
//! the one the 3-D Secure page sends the window that shows it. Each carries a `source` naming its
//! sender, so a page's other messages are never mistaken for Kassa's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::PaymentIntent;
use crate::card::CardBrand;
use crate::client::{Json, KassaError};
use crate::money::{Currency, MinorUnits};

/// The `source` of what the checkout sends.
pub const FROM_CHECKOUT: &str = "kassa-checkout";
/// The `source` of what the shop's page sends the checkout.
pub const FROM_PARENT: &str = "kassa-parent";
/// The `source` of what the 3-D Secure page sends.
pub const FROM_CHALLENGE: &str = "kassa";

/// What the checkout tells the shop's page. The intent a success carries is Kassa's answer: typed
/// for Rust, or (in the checkout) the answer as it came, handed on without decoding it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(concrete(I = PaymentIntent)))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum CheckoutMessage<I = PaymentIntent> {
    /// The intent is loaded and the form shown.
    #[serde(rename_all = "camelCase")]
    Ready { amount_cents: MinorUnits, currency: Currency },
    /// The card form changed: whether it is complete, and the brand typed so far.
    Change { complete: bool, brand: CardBrand },
    /// The payment went through.
    #[serde(rename_all = "camelCase")]
    Success { payment_intent: Box<I> },
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
/// The `type` of a message from `source`, or `None` when another sender wrote it.
fn kind_from<J: Json>(message: &J, source: &str) -> Option<String> {
    (message.get("source")?.as_string()? == source).then(|| message.get("type")?.as_string())?
}

impl<J: Json> CheckoutMessage<J> {
    /// The message as it is posted, `{"source": "kassa-checkout", "type": …, …}`, written without
    /// serde: the same members serde writes for the typed message.
    pub fn to_json(&self) -> J {
        let (kind, mut members) = match self {
            CheckoutMessage::Ready { amount_cents, currency } => {
                ("ready", vec![("amountCents", J::integer(amount_cents.get())), ("currency", J::string(currency.code()))])
            }
            CheckoutMessage::Change { complete, brand } => {
                ("change", vec![("complete", J::boolean(*complete)), ("brand", J::string(brand.as_str()))])
            }
            CheckoutMessage::Success { payment_intent } => ("success", vec![("paymentIntent", (**payment_intent).clone())]),
            CheckoutMessage::Error { error } => ("error", vec![("error", error.to_json())]),
            CheckoutMessage::Resize { height } => ("resize", vec![("height", J::number(*height))]),
        };
        members.splice(0..0, [("type", J::string(kind)), ("source", J::string(FROM_CHECKOUT))]);
        J::object(members)
    }
}

impl ParentMessage {
    /// Reads a message the shop's page posted; `None` for anything else, or for a member of the
    /// wrong kind (as serde would refuse it). Written out rather than derived: the checkout reads
    /// the browser's own objects and carries no serde decoder.
    pub fn from_json<J: Json>(message: &J) -> Option<ParentMessage> {
        if kind_from(message, FROM_PARENT)? != "update" {
            return None;
        }
        // `Some(None)` for a missing member, `None` for one that is not a string.
        let string = |value: Option<J>| match value {
            None => Some(None),
            Some(value) => value.as_string().map(Some),
        };
        let appearance = match message.get("appearance") {
            None => None,
            Some(appearance) => {
                appearance.keys()?;
                let theme = match string(appearance.get("theme"))?.as_deref() {
                    None => None,
                    Some("light") => Some(Theme::Light),
                    Some("dark") => Some(Theme::Dark),
                    Some(_) => return None,
                };
                let variables = match appearance.get("variables") {
                    None => None,
                    Some(variables) => Some(
                        variables
                            .keys()?
                            .into_iter()
                            .map(|name| Some((name.clone(), variables.get(&name)?.as_string()?)))
                            .collect::<Option<BTreeMap<_, _>>>()?,
                    ),
                };
                Some(Appearance { theme, variables })
            }
        };
        Some(ParentMessage::Update(CheckoutUpdate { locale: string(message.get("locale"))?, appearance }))
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
    /// Reads a message the 3-D Secure page posted; `None` for anything else.
    pub fn from_json<J: Json>(message: &J) -> Option<ChallengeMessage> {
        match kind_from(message, FROM_CHALLENGE)?.as_str() {
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

    use serde_json::{json, Value};

    use crate::api::IntentStatus;

    #[test]
    fn the_checkouts_messages_are_written_as_serde_writes_the_typed_ones() {
        let intent: PaymentIntent = serde_json::from_value(json!({
            "id": "pi_0123456789abcdef0123456789abcdef", "status": IntentStatus::Captured.as_str(), "amountCents": 2698, "tipCents": 0,
            "capturedAmountCents": 2698, "refundedAmountCents": 0, "currency": "EUR", "captureMethod": "automatic",
            "paymentMethodType": "card", "cardBrand": "visa", "cardLast4": "4242", "authCode": "A1B2C3", "avsResponse": null,
            "cvvResponse": null, "providerReference": null, "orderId": null, "customerId": null, "locationId": null,
            "terminalId": null, "lineItems": [{ "name": "Mug", "unitAmountCents": 2698, "quantity": 1 }],
            "metadata": {}, "nextAction": null, "lastError": null, "createdAt": "2026-11-30T00:00:00.000Z",
            "updatedAt": "2026-11-30T00:00:00.000Z"
        }))
        .unwrap_or_else(|e| panic!("a payment intent: {e}"));
        let error = KassaError::invalid_argument("card.number", "card number is not valid");
        let pairs: [(CheckoutMessage<Value>, CheckoutMessage); 5] = [
            (
                CheckoutMessage::Ready { amount_cents: MinorUnits(2698), currency: Currency::EUR },
                CheckoutMessage::Ready { amount_cents: MinorUnits(2698), currency: Currency::EUR },
            ),
            (
                CheckoutMessage::Change { complete: true, brand: CardBrand::Amex },
                CheckoutMessage::Change { complete: true, brand: CardBrand::Amex },
            ),
            (
                CheckoutMessage::Success { payment_intent: Box::new(serde_json::to_value(&intent).unwrap()) },
                CheckoutMessage::Success { payment_intent: Box::new(intent) },
            ),
            (CheckoutMessage::Error { error: error.clone() }, CheckoutMessage::Error { error }),
            (CheckoutMessage::Resize { height: 361.5 }, CheckoutMessage::Resize { height: 361.5 }),
        ];
        for (written, typed) in pairs {
            assert_eq!(written.to_json(), sent(FROM_CHECKOUT, &typed));
        }
        assert_eq!(
            CheckoutMessage::<Value>::Ready { amount_cents: MinorUnits(2698), currency: Currency::EUR }.to_json(),
            json!({ "source": "kassa-checkout", "type": "ready", "amountCents": 2698, "currency": "EUR" })
        );
    }

    #[test]
    fn messages_are_read_as_the_pages_send_them() {
        let update = json!({ "source": "kassa-parent", "type": "update", "locale": "de", "appearance": { "theme": "dark", "variables": { "--kassa-accent": "#000" } } });
        let Some(ParentMessage::Update(CheckoutUpdate { locale, appearance })) = ParentMessage::from_json(&update) else {
            panic!("an update")
        };
        assert_eq!(locale.as_deref(), Some("de"));
        let appearance = appearance.unwrap();
        assert_eq!(appearance.theme, Some(Theme::Dark));
        assert_eq!(appearance.variables.unwrap()["--kassa-accent"], "#000");
        let mut elsewhere = update.clone();
        elsewhere["source"] = "kassa-checkout".into();
        assert_eq!(ParentMessage::from_json(&elsewhere), None, "another sender");
        // What serde refuses is refused; so is an appearance given as a list (which serde would
        // read as a struct's members in order).
        for wrong in [
            json!({ "locale": 1 }),
            json!({ "appearance": { "theme": "pink" } }),
            json!({ "appearance": { "variables": { "--kassa-x": 1 } } }),
            json!({ "appearance": [] }),
        ] {
            let mut message = json!({ "source": "kassa-parent", "type": "update" });
            message.as_object_mut().unwrap().extend(wrong.as_object().unwrap().clone());
            assert_eq!(ParentMessage::from_json(&message), None, "{message}");
            assert!(message["appearance"].is_array() || serde_json::from_value::<CheckoutUpdate>(message).is_err(), "serde refuses it too");
        }
        // The hand-written readers agree with the types' own serde names.
        let updates = [
            CheckoutUpdate { locale: Some("en".into()), appearance: None },
            CheckoutUpdate {
                locale: None,
                appearance: Some(Appearance {
                    theme: Some(Theme::Light),
                    variables: Some(BTreeMap::from([("--kassa-radius".into(), "4px".into())])),
                }),
            },
        ];
        for update in updates {
            let update = ParentMessage::Update(update);
            assert_eq!(ParentMessage::from_json(&sent(FROM_PARENT, &update)), Some(update));
        }
        for message in [ChallengeMessage::ThreeDsComplete, ChallengeMessage::ThreeDsEscape] {
            assert_eq!(ChallengeMessage::from_json(&sent(FROM_CHALLENGE, &message)), Some(message));
        }
        assert_eq!(ChallengeMessage::from_json(&json!({ "source": "kassa", "type": "reload" })), None);
        assert_eq!(ChallengeMessage::from_json(&json!("not an object")), None);
    }
}
