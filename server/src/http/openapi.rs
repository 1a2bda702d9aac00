//! The OpenAPI document, served at `/api/v1/openapi.json`.

use kassa::api::{CreatedApiKey, IntentWithHistory, PageMeta, PaymentIntent, CardToken};
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
pub struct HistoryResponse {
    pub data: IntentWithHistory,
}

#[derive(ToSchema)]
pub struct IntentPage {
    pub data: Vec<PaymentIntent>,
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
        crate::http::health,
    ),
    modifiers(&Security),
    security(("bearer" = []), ("apiKey" = [])),
)]
pub struct ApiDoc;
