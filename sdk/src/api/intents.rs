use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{CaptureMethod, CardInput, CardSummary, LineItem};
use crate::id::{CustomerId, OrderId, PaymentMethodId, TokenId};
use crate::money::{Currency, MinorUnits};

/// `POST /payments/intents`: an intent the browser confirms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateIntentRequest {
    pub amount_cents: MinorUnits,
    pub currency: Currency,
    #[serde(default)]
    pub capture_method: CaptureMethod,
    /// The Kassa order this pays for: its ledger records the payment.
    #[serde(default)]
    pub order_id: Option<OrderId>,
    /// The shop's own reference (its order number, say), kept and searchable; it links nothing.
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    #[serde(default)]
    pub location_id: Option<String>,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// `POST /payments/intents/{id}/confirm`: exactly one of `card`, `token` or `paymentMethodId`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmIntentRequest {
    /// Required with a publishable key.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub card: Option<CardInput>,
    #[serde(default)]
    pub token: Option<TokenId>,
    #[serde(default)]
    pub payment_method_id: Option<PaymentMethodId>,
    /// Save the card to the intent's customer once the payment succeeds.
    #[serde(default)]
    pub save_card: bool,
    /// Where the 3-D Secure page sends the customer when it is not shown in a frame.
    #[serde(default)]
    pub return_url: Option<String>,
    /// A tip the customer chose (a kiosk's tip screen), on top of the intent's amount.
    #[serde(default)]
    pub tip_cents: Option<MinorUnits>,
    /// The origins of the pages around the confirming page (an embedded checkout's shop page),
    /// which the 3-D Secure page must let frame it. At most 3.
    #[serde(default)]
    pub frame_ancestors: Vec<String>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// `POST /payments/intents/{id}`: the shop's server changes what is owed before it is paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateIntentRequest {
    #[serde(default)]
    pub amount_cents: Option<MinorUnits>,
    #[serde(default)]
    pub line_items: Option<Vec<LineItem>>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Map<String, Value>>,
    /// The shop's own reference; an empty string removes it.
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// `POST /customers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCustomerRequest {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// A customer's new details: what is given is set (an empty string removes an email or name;
/// metadata is replaced whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateCustomerRequest {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: CustomerId,
    pub email: Option<String>,
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Map<String, Value>,
    pub created_at: String,
}

/// `POST /customers/{id}/payment-methods`: save a tokenized card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavePaymentMethodRequest {
    pub token: TokenId,
    #[serde(default)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// A card saved for a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SavedPaymentMethod {
    pub id: PaymentMethodId,
    pub customer_id: CustomerId,
    /// Always `card`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "typescript", ts(type = "\"card\""))]
    pub kind: String,
    pub card: CardSummary,
    pub nickname: Option<String>,
    pub is_default: bool,
    pub created_at: String,
}

/// `POST /customers/{id}/sessions`: a short-lived secret for the browser to see and manage this
/// customer's saved cards with the publishable key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerSession {
    pub customer_id: CustomerId,
    /// Send as the `Kassa-Customer-Session` header.
    pub secret: String,
    pub expires_at: String,
}

/// `GET /payments/failed?counts=true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FailedCounts {
    pub total: i64,
    pub declined: i64,
    pub error: i64,
}

/// Filters of `GET /payments/failed`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailedFilters {
    /// `true` answers only the counts.
    pub counts: Option<bool>,
    pub status: Option<super::IntentStatus>,
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub customer_id: Option<String>,
    pub location_id: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// `POST /payments/failed/{id}/retry`: at most one of `card`, `token` or `paymentMethodId`; none
/// retries the original card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryRequest {
    #[serde(default)]
    pub card: Option<CardInput>,
    #[serde(default)]
    pub token: Option<TokenId>,
    #[serde(default)]
    pub payment_method_id: Option<PaymentMethodId>,
    #[serde(default)]
    pub payment_method_type: Option<String>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ResolutionKind {
    Resolved,
    Dismissed,
}

/// `POST /payments/failed/{id}/resolve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResolveRequest {
    pub resolution: ResolutionKind,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub paid_by_other_means: bool,
    /// `cash`, `cheque`, `external`, …
    #[serde(default)]
    pub other_means_type: Option<String>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// How a failed payment was closed by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    pub resolution: ResolutionKind,
    pub reason: Option<String>,
    pub paid_by_other_means: bool,
    pub other_means_type: Option<String>,
    pub resolved_at: String,
}

/// Saving a customer's card without a payment: made for a customer, then confirmed with the card,
/// which is then one of the customer's saved cards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SetupIntent {
    pub id: crate::id::SetupIntentId,
    /// `requires_payment_method`, `succeeded` or `canceled`.
    pub status: String,
    pub customer_id: CustomerId,
    /// The saved card, once confirmed.
    pub payment_method_id: Option<PaymentMethodId>,
    /// `off_session` (the default) or `on_session`: how the card is meant to be used.
    pub usage: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Map<String, Value>,
    pub created_at: String,
}
