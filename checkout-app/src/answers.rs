//! What the screens read of Kassa's answers, taken member by member from the browser's own objects
//! (the checkout carries no JSON decoder). An intent keeps the answer as it came, to hand to the
//! shop's page when the payment goes through.

// `KassaError` is the SDK's error, handed back as the flows give it (see `kassa::client`).
#![allow(clippy::result_large_err)]

use kassa::api::IntentStatus;
use kassa::card::CardBrand;
use kassa::client::{JsJson, Json, KassaError};
use kassa::Currency;
use send_wrapper::SendWrapper;

/// One line of the order, as the summary shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub quantity: i64,
    pub unit_amount_cents: i64,
}

/// A payment intent, as the screens show it.
#[derive(Debug, Clone)]
pub struct Intent {
    pub status: IntentStatus,
    pub amount_cents: i64,
    pub tip_cents: i64,
    pub captured_amount_cents: i64,
    pub currency: Currency,
    pub line_items: Vec<Line>,
    pub card_brand: Option<CardBrand>,
    pub card_last4: Option<String>,
    pub auth_code: Option<String>,
    /// Kassa's answer as it came. (The checkout runs on the page's one thread.)
    pub json: SendWrapper<JsJson>,
}

/// A saved card to choose from.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedCard {
    pub id: String,
    pub brand: CardBrand,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
}

fn string<J: Json>(object: &J, key: &str) -> Option<String> {
    object.get(key)?.as_string()
}

fn integer<J: Json>(object: &J, key: &str) -> Option<i64> {
    object.get(key)?.as_integer()
}

fn brand<J: Json>(object: &J, key: &str) -> Option<CardBrand> {
    string(object, key)?.parse().ok()
}

impl Intent {
    /// Reads an intent from Kassa's answer; an answer in another form is an error.
    pub fn read(json: JsJson) -> Result<Intent, KassaError> {
        Intent::from_json(json).ok_or_else(|| KassaError::unexpected(200))
    }

    fn from_json(json: JsJson) -> Option<Intent> {
        let line = |line: &JsJson| {
            Some(Line {
                name: string(line, "name")?,
                quantity: integer(line, "quantity")?,
                unit_amount_cents: integer(line, "unitAmountCents")?,
            })
        };
        Some(Intent {
            status: string(&json, "status")?.parse().ok()?,
            amount_cents: integer(&json, "amountCents")?,
            tip_cents: integer(&json, "tipCents").unwrap_or(0),
            captured_amount_cents: integer(&json, "capturedAmountCents").unwrap_or(0),
            currency: string(&json, "currency")?.parse().ok()?,
            line_items: json.get("lineItems").map_or(Some(Vec::new()), |lines| lines.as_array()?.iter().map(line).collect())?,
            card_brand: brand(&json, "cardBrand"),
            card_last4: string(&json, "cardLast4"),
            auth_code: string(&json, "authCode"),
            json: SendWrapper::new(json),
        })
    }

    /// Whether the money is taken (or held): nothing is left to pay.
    pub fn is_paid(&self) -> bool {
        self.status.succeeded()
    }
}

impl SavedCard {
    /// Reads the list of a customer's saved cards; an answer in another form is an error.
    pub fn read_list(json: JsJson) -> Result<Vec<SavedCard>, KassaError> {
        let card = |method: &JsJson| {
            let card = method.get("card")?;
            Some(SavedCard {
                id: string(method, "id")?,
                brand: brand(&card, "brand")?,
                last4: string(&card, "last4")?,
                exp_month: integer(&card, "expMonth")?,
                exp_year: integer(&card, "expYear")?,
            })
        };
        json.as_array().and_then(|methods| methods.iter().map(card).collect()).ok_or_else(|| KassaError::unexpected(200))
    }
}
