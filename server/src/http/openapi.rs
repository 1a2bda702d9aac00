//! The OpenAPI document, served at `/api/v1/openapi.json`.

use kassa::api::{CardToken, CreatedApiKey, Customer, CustomerSession, DeliveryAttempt, Event, IntentWithHistory, Order, PageMeta, PaymentIntent, SavedPaymentMethod, WebhookEndpoint};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(ToSchema)]
pub struct IntentResponse {
    pub data: PaymentIntent,
}

#[derive(ToSchema)]
pub struct TokenResponse {
    pub data: CardToken,
}

#[derive(ToSchema)]
pub struct KeyResponse {
    pub data: CreatedApiKey,
}

#[derive(ToSchema)]
pub struct ProcessorResponse {
    pub data: kassa::api::ProcessorSettings,
}

#[derive(ToSchema)]
pub struct KeyList {
    pub data: Vec<kassa::api::ApiKey>,
}

#[derive(ToSchema)]
pub struct ApiKeyResponse {
    pub data: kassa::api::ApiKey,
}

#[derive(ToSchema)]
pub struct HistoryResponse {
    pub data: IntentWithHistory,
}

#[derive(ToSchema)]
pub struct IntentPage {
    pub data: Vec<PaymentIntent>,
    pub meta: PageMeta,
}

#[derive(ToSchema)]
pub struct CustomerResponse {
    pub data: Customer,
}

#[derive(ToSchema)]
pub struct CustomerPage {
    pub data: Vec<Customer>,
    pub meta: PageMeta,
}

#[derive(ToSchema)]
pub struct SavedMethodResponse {
    pub data: SavedPaymentMethod,
}

#[derive(ToSchema)]
pub struct SavedMethodList {
    pub data: Vec<SavedPaymentMethod>,
}

#[derive(ToSchema)]
pub struct SessionResponse {
    pub data: CustomerSession,
}

#[derive(ToSchema)]
pub struct OrderResponse {
    pub data: Order,
}

#[derive(ToSchema)]
pub struct OrderPage {
    pub data: Vec<Order>,
    pub meta: PageMeta,
}

#[derive(ToSchema)]
pub struct EndpointResponse {
    pub data: WebhookEndpoint,
}

#[derive(ToSchema)]
pub struct EndpointList {
    pub data: Vec<WebhookEndpoint>,
}

#[derive(ToSchema)]
pub struct AttemptList {
    pub data: Vec<DeliveryAttempt>,
}

#[derive(ToSchema)]
pub struct EventPage {
    pub data: Vec<Event>,
    pub meta: PageMeta,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
        components.add_security_scheme("apiKey", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Kassa API", version = "1", description = "Card payments: tokenize, authorize, capture, void, refund, tip, search."),
    paths(
        crate::http::payments::create_payment_method,
        crate::http::payments::authorize,
        crate::http::payments::sale,
        crate::http::payments::capture,
        crate::http::payments::void,
        crate::http::payments::refund,
        crate::http::payments::tip,
        crate::http::payments::list_transactions,
        crate::http::payments::get_transaction,
        crate::http::keys::create,
        crate::http::keys::list,
        crate::http::keys::revoke,
        crate::http::keys::roll,
        crate::http::processor::get,
        crate::http::processor::update,
        crate::http::processor::stripe_webhook,
        crate::http::payments::create_intent,
        crate::http::payments::get_intent,
        crate::http::payments::update_intent,
        crate::http::payments::confirm_intent,
        crate::http::payments::list_failed,
        crate::http::payments::retry_failed,
        crate::http::payments::resolve_failed,
        crate::http::customers::create,
        crate::http::customers::list,
        crate::http::customers::get,
        crate::http::customers::save_method,
        crate::http::customers::list_methods,
        crate::http::customers::delete_method,
        crate::http::customers::create_session,
        crate::http::orders::create,
        crate::http::orders::list,
        crate::http::orders::get,
        crate::http::orders::payment_intent,
        crate::http::orders::add_payment,
        crate::http::orders::update_payment,
        crate::http::orders::delete_payment,
        crate::http::orders::confirm_payment,
        crate::http::webhooks::create,
        crate::http::webhooks::list,
        crate::http::webhooks::delete,
        crate::http::webhooks::deliveries,
        crate::http::webhooks::list_events,
        crate::http::health,
    ),
    modifiers(&Security),
    security(("bearer" = []), ("apiKey" = [])),
)]
pub struct ApiDoc;
