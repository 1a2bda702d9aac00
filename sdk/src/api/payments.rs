use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::card::{CardBrand, CardNumber, Cvc};
use crate::id::{OrderId, PaymentIntentId, PaymentMethodId, TokenId, TransactionId};
use crate::money::{Currency, MinorUnits};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    RequiresPaymentMethod,
    RequiresAction,
    /// The processor is being asked; the outcome follows (a crash in between is settled by the
    /// server's reconciler).
    Processing,
    Authorized,
    Captured,
    PartiallyRefunded,
    Refunded,
    Voided,
    Declined,
    Error,
    Resolved,
    /// Closed without payment: a browser-confirmed intent after too many declined attempts.
    Canceled,
}

impl IntentStatus {
    pub const ALL: &'static [IntentStatus] = &[
        IntentStatus::RequiresPaymentMethod,
        IntentStatus::RequiresAction,
        IntentStatus::Processing,
        IntentStatus::Authorized,
        IntentStatus::Captured,
        IntentStatus::PartiallyRefunded,
        IntentStatus::Refunded,
        IntentStatus::Voided,
        IntentStatus::Declined,
        IntentStatus::Error,
        IntentStatus::Resolved,
        IntentStatus::Canceled,
    ];

    /// Whether the card payment went through: the money is held (authorized) or taken (captured).
    pub fn succeeded(self) -> bool {
        matches!(self, IntentStatus::Authorized | IntentStatus::Captured)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IntentStatus::RequiresPaymentMethod => "requires_payment_method",
            IntentStatus::RequiresAction => "requires_action",
            IntentStatus::Processing => "processing",
            IntentStatus::Authorized => "authorized",
            IntentStatus::Captured => "captured",
            IntentStatus::PartiallyRefunded => "partially_refunded",
            IntentStatus::Refunded => "refunded",
            IntentStatus::Voided => "voided",
            IntentStatus::Declined => "declined",
            IntentStatus::Error => "error",
            IntentStatus::Resolved => "resolved",
            IntentStatus::Canceled => "canceled",
        }
    }
}

impl std::str::FromStr for IntentStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        IntentStatus::ALL.iter().copied().find(|status| status.as_str() == s).ok_or(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CaptureMethod {
    #[default]
    Automatic,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransactionType {
    Authorize,
    Capture,
    Void,
    Refund,
    TipAdjust,
    ThreeDs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransactionStatus {
    Approved,
    Declined,
    /// Waiting on the customer (a 3-D Secure challenge).
    Pending,
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub name: String,
    pub unit_amount_cents: MinorUnits,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub description: Option<String>,
}

/// What the customer must do next (3-D Secure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct NextAction {
    /// Always `three_ds_challenge`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "typescript", ts(type = "\"three_ds_challenge\""))]
    pub kind: String,
    pub url: String,
    pub challenge_window_size: String,
}

/// Why the last attempt failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LastError {
    pub code: crate::ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub decline_code: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PaymentIntent {
    pub id: PaymentIntentId,
    pub status: IntentStatus,
    /// The amount before any tip, in minor units.
    pub amount_cents: MinorUnits,
    pub tip_cents: MinorUnits,
    pub captured_amount_cents: MinorUnits,
    pub refunded_amount_cents: MinorUnits,
    pub currency: Currency,
    pub capture_method: CaptureMethod,
    pub payment_method_type: Option<String>,
    pub card_brand: Option<CardBrand>,
    pub card_last4: Option<String>,
    pub auth_code: Option<String>,
    pub avs_response: Option<String>,
    pub cvv_response: Option<String>,
    pub provider_reference: Option<String>,
    /// The Kassa order this pays for.
    pub order_id: Option<OrderId>,
    /// The shop's own reference, as it was given.
    pub reference: Option<String>,
    pub customer_id: Option<String>,
    pub location_id: Option<String>,
    pub terminal_id: Option<String>,
    pub line_items: Vec<LineItem>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Map<String, Value>,
    pub next_action: Option<NextAction>,
    pub last_error: Option<LastError>,
    /// How a failed payment was closed by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub resolution: Option<super::Resolution>,
    /// RFC 3339, UTC, milliseconds.
    pub created_at: String,
    pub updated_at: String,
    /// Only in the response to the secret key that created the intent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub client_secret: Option<String>,
}

/// One processor call on an intent, kept so the history is complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub id: TransactionId,
    #[serde(rename = "type")]
    pub kind: TransactionType,
    pub status: TransactionStatus,
    pub amount_cents: MinorUnits,
    pub currency: Currency,
    pub provider_reference: Option<String>,
    pub response_code: String,
    pub response_text: String,
    /// Who asked for the call: an API key's id or a console user's email; none when the
    /// processor's own news made it.
    pub created_by: Option<String>,
    pub created_at: String,
}

/// `GET /payments/transactions/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IntentWithHistory {
    pub intent: PaymentIntent,
    pub transactions: Vec<Transaction>,
}

/// A card as typed by its holder. It can be read from JSON but never written back out.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CardInput {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "4242424242424242"))]
    pub number: CardNumber,
    pub exp_month: u32,
    pub exp_year: u32,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "123"))]
    pub cvc: Option<Cvc>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
}

/// The facts about a card that Kassa keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CardSummary {
    pub brand: CardBrand,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
    /// The same card number gives the same fingerprint.
    pub fingerprint: String,
}

/// `POST /payment-methods`: tokenize a card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTokenRequest {
    pub card: CardInput,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// A single-use card token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CardToken {
    pub id: TokenId,
    /// Always `card`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "typescript", ts(type = "\"card\""))]
    pub kind: String,
    pub card: CardSummary,
    pub used: bool,
    pub created_at: String,
}

/// `POST /payments/authorize` and `POST /payments/sale`. Exactly one of `card`, `token` or
/// `paymentMethodId` pays.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChargeRequest {
    pub amount_cents: MinorUnits,
    pub currency: Currency,
    /// Sale only: a tip on top of `amountCents`.
    #[serde(default)]
    pub tip_cents: Option<MinorUnits>,
    #[serde(default)]
    pub card: Option<CardInput>,
    #[serde(default)]
    pub token: Option<TokenId>,
    #[serde(default)]
    pub payment_method_id: Option<PaymentMethodId>,
    #[serde(default)]
    pub payment_method_type: Option<String>,
    /// The Kassa order this pays for: its ledger records the payment.
    #[serde(default)]
    pub order_id: Option<OrderId>,
    /// The shop's own reference (its order number, say), kept and searchable; it links nothing.
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub location_id: Option<String>,
    #[serde(default)]
    pub terminal_id: Option<String>,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// `POST /payments/capture`: omit `amountCents` to capture everything authorized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaptureRequest {
    pub payment_intent_id: PaymentIntentId,
    #[serde(default)]
    pub amount_cents: Option<MinorUnits>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// `POST /payments/void`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VoidRequest {
    pub payment_intent_id: PaymentIntentId,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// `POST /payments/refund`: omit `amountCents` to refund what is left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefundRequest {
    pub payment_intent_id: PaymentIntentId,
    #[serde(default)]
    pub amount_cents: Option<MinorUnits>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// `POST /payments/{id}/tip`: the new tip (it replaces the old one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TipRequest {
    pub tip_cents: MinorUnits,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// Filters of `GET /payments/transactions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransactionFilters {
    pub status: Option<IntentStatus>,
    /// `YYYY-MM-DD` (from the start of that day, UTC) or RFC 3339.
    pub date_from: Option<String>,
    /// `YYYY-MM-DD` (through the end of that day, UTC) or RFC 3339.
    pub date_to: Option<String>,
    pub amount_min_cents: Option<MinorUnits>,
    pub amount_max_cents: Option<MinorUnits>,
    /// Only payments in this currency (an amount range means something in one currency only).
    pub currency: Option<Currency>,
    pub card_last4: Option<String>,
    pub customer_id: Option<String>,
    pub order_id: Option<OrderId>,
    pub reference: Option<String>,
    pub location_id: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}
