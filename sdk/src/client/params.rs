//! What a caller hands the flows: a card, and how to confirm. Rust callers build these types (or
//! decode them with serde); the npm package reads them from the caller's own objects with
//! [`CardDetails::from_json`] and [`ConfirmParams::from_json`], which name the field that is wrong.

use serde::{Deserialize, Serialize};

use super::json::Json;
use super::KassaError;
use crate::money::MinorUnits;

/// A card as the customer typed it, sent to Kassa once to be tokenized or to pay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct CardDetails {
    pub number: String,
    pub exp_month: u32,
    pub exp_year: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

/// How to confirm: a new card or a saved one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmParams {
    #[serde(default)]
    pub card: Option<CardDetails>,
    #[serde(default)]
    pub payment_method_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    pub save_card: bool,
    #[serde(default)]
    pub return_url: Option<String>,
    /// Drive a 3-D Secure challenge to its end (the default), or return `requires_action`.
    #[serde(default = "yes")]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    pub handle_actions: bool,
    /// A tip on top of the intent's amount (a kiosk's tip screen).
    #[serde(default)]
    pub tip_cents: Option<MinorUnits>,
    /// The origins of the pages this one is framed in, which the bank's 3-D Secure page must
    /// admit (the checkout passes its shop page's origin).
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    pub frame_ancestors: Vec<String>,
    /// The customer's session secret (from the shop's server), which paying with a saved card
    /// (`payment_method_id`) or saving one (`save_card`) needs.
    #[serde(default)]
    pub customer_session: Option<String>,
}

fn yes() -> bool {
    true
}

/// The members [`ConfirmParams`] has on the wire.
const CONFIRM_MEMBERS: [&str; 8] =
    ["card", "paymentMethodId", "saveCard", "returnUrl", "handleActions", "tipCents", "frameAncestors", "customerSession"];

/// Reads an optional member with `read`; a member of the wrong kind is an error naming `param`.
fn member<J: Json, T>(object: &J, key: &str, param: &str, kind: &str, read: impl Fn(&J) -> Option<T>) -> Result<Option<T>, KassaError> {
    match object.get(key) {
        None => Ok(None),
        Some(value) => read(&value).map(Some).ok_or_else(|| KassaError::invalid_argument(param, &format!("{param} must be {kind}"))),
    }
}

fn required<T>(value: Option<T>, param: &str) -> Result<T, KassaError> {
    value.ok_or_else(|| KassaError::invalid_argument(param, &format!("{param} is required")))
}

fn month_or_year<J: Json>(value: &J) -> Option<u32> {
    value.as_integer().and_then(|n| u32::try_from(n).ok())
}

impl CardDetails {
    /// Reads a card from a caller's object: `{ number, expMonth, expYear, cvc?, name?, postalCode? }`.
    pub fn from_json<J: Json>(card: &J) -> Result<CardDetails, KassaError> {
        if card.keys().is_none() {
            return Err(KassaError::invalid_argument("card", "card must be an object"));
        }
        Ok(CardDetails {
            number: required(member(card, "number", "card.number", "a string", J::as_string)?, "card.number")?,
            exp_month: required(member(card, "expMonth", "card.expMonth", "a whole number", month_or_year)?, "card.expMonth")?,
            exp_year: required(member(card, "expYear", "card.expYear", "a whole number", month_or_year)?, "card.expYear")?,
            cvc: member(card, "cvc", "card.cvc", "a string", J::as_string)?,
            name: member(card, "name", "card.name", "a string", J::as_string)?,
            postal_code: member(card, "postalCode", "card.postalCode", "a string", J::as_string)?,
        })
    }

    /// The card as Kassa's API takes it.
    pub fn to_json<J: Json>(&self) -> J {
        let mut members = vec![
            ("number", J::string(&self.number)),
            ("expMonth", J::integer(self.exp_month.into())),
            ("expYear", J::integer(self.exp_year.into())),
        ];
        for (key, value) in [("cvc", &self.cvc), ("name", &self.name), ("postalCode", &self.postal_code)] {
            if let Some(value) = value {
                members.push((key, J::string(value)));
            }
        }
        J::object(members)
    }
}

impl ConfirmParams {
    /// Reads the parameters of a confirmation from a caller's object; an unknown member is an
    /// error, as a misspelt `paymentMethodID` would otherwise be ignored.
    pub fn from_json<J: Json>(params: &J) -> Result<ConfirmParams, KassaError> {
        let keys = params.keys().ok_or_else(|| KassaError::invalid_argument("params", "params must be an object"))?;
        if let Some(unknown) = keys.iter().find(|key| !CONFIRM_MEMBERS.contains(&key.as_str())) {
            return Err(KassaError::invalid_argument(
                unknown,
                &format!("{unknown} is not a confirmation parameter; they are {}", CONFIRM_MEMBERS.join(", ")),
            ));
        }
        let strings = |list: &J| list.as_array()?.iter().map(J::as_string).collect::<Option<Vec<_>>>();
        Ok(ConfirmParams {
            card: params.get("card").map(|card| CardDetails::from_json(&card)).transpose()?,
            payment_method_id: member(params, "paymentMethodId", "paymentMethodId", "a string", J::as_string)?,
            save_card: member(params, "saveCard", "saveCard", "true or false", J::as_boolean)?.unwrap_or(false),
            return_url: member(params, "returnUrl", "returnUrl", "a string", J::as_string)?,
            handle_actions: member(params, "handleActions", "handleActions", "true or false", J::as_boolean)?.unwrap_or(true),
            tip_cents: member(params, "tipCents", "tipCents", "a whole number of minor units", J::as_integer)?.map(MinorUnits),
            frame_ancestors: member(params, "frameAncestors", "frameAncestors", "a list of origins", strings)?.unwrap_or_default(),
            customer_session: member(params, "customerSession", "customerSession", "a string", J::as_string)?,
        })
    }
}
