use serde::{Deserialize, Serialize};

use crate::id::{DeliveryId, EventId, WebhookEndpointId};

/// The events Kassa sends.
pub const EVENT_TYPES: &[&str] = &[
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.canceled",
    "charge.refunded",
    "charge.refund.failed",
    "order.paid",
];

/// The event types an endpoint in Stripe's format receives: those Stripe has too.
pub const STRIPE_EVENT_TYPES: &[&str] = &[
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.canceled",
    "charge.refunded",
];

/// `POST /webhook-endpoints`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhookEndpointRequest {
    pub url: String,
    /// Event types, or `["*"]` for all.
    pub events: Vec<String>,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// How deliveries are written and signed: Kassa's events (`Kassa-Signature`), or Stripe's
    /// (`Stripe-Signature`, Stripe's event objects) for code written for Stripe.
    #[serde(default)]
    pub format: WebhookFormat,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// How an endpoint's deliveries are written and signed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// Kassa's events, signed in `Kassa-Signature`.
    #[default]
    Kassa,
    /// Stripe's event objects, signed in `Stripe-Signature` (as `stripe.webhooks.constructEvent`
    /// checks them).
    Stripe,
}

impl WebhookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Kassa => "kassa",
            WebhookFormat::Stripe => "stripe",
        }
    }
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    #[serde(default)]
    pub format: WebhookFormat,
    /// The signing secret: in the response that creates the endpoint, and nowhere else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
}

/// An event: `{"id": "evt_…", "type", "createdAt", "data": {"object": …}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: EventId,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
}

/// Filters of `GET /events`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventFilters {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// One attempt to deliver an event to an endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    pub delivery_id: DeliveryId,
    pub event_id: EventId,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub attempted_at: String,
    /// After this attempt: `delivered`, `failed` (no attempt is left), `pending` (the next attempt
    /// is awaited) or `retrying` (another attempt followed it).
    pub delivery_status: String,
}

/// `POST /webhook-endpoints/{id}/deliveries/{deliveryId}/retry`: a delivery queued to be sent
/// again at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryQueued {
    pub id: DeliveryId,
    /// `pending`: the next attempt is due now.
    pub status: String,
}
