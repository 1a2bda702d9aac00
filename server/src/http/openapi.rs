//! The OpenAPI document, served at `/api/v1/openapi.json`.

use kassa::api::{CardToken, CreatedApiKey, Customer, CustomerSession, DeliveryAttempt, Event, IntentWithHistory, Order, PageMeta, PaymentIntent, SavedPaymentMethod, WebhookEndpoint};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use serde_json::{json, Value};
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

/// The document's frame; its paths come from the router (`http::app_with_pages`), so no route can be
/// served undocumented or documented unserved.
#[derive(OpenApi)]
#[openapi(
    info(title = "Kassa API", version = "1", description = "Card payments: tokenize, authorize, capture, void, refund, tip, search."),
    modifiers(&Security),
    security(("bearer" = []), ("apiKey" = [])),
)]
pub struct ApiDoc;

/// What every operation can answer besides its own responses, derived from the layers every route
/// runs through, so no handler lists them by hand:
/// - under `/api/v1`: authentication (401, 403), the rate limit (429), bad input (400), the
///   body limit (413), and an unexpected failure (500);
/// - a `POST` there: the idempotency layer (409) and its `Idempotency-Key` header;
/// - a path with an id: 404.
///
/// A request body whose schema requires nothing may be left out (an empty body reads as `{}`).
pub fn finish(doc: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).expect("the document serializes");
    let schemas = doc["components"]["schemas"].clone();
    let Some(paths) = doc["paths"].as_object_mut() else { return doc };
    for (path, item) in paths.iter_mut() {
        let api = path.starts_with("/api/v1/");
        let Some(item) = item.as_object_mut() else { continue };
        for (method, operation) in item.iter_mut() {
            let has_body = operation.get("requestBody").is_some();
            if let Some(body) = operation.get_mut("requestBody") {
                let reference = body.pointer("/content/application~1json/schema/$ref").and_then(Value::as_str).unwrap_or_default();
                let name = reference.rsplit('/').next().unwrap_or_default();
                let required = schemas[name]["required"].as_array().is_some_and(|r| !r.is_empty());
                body["required"] = json!(required);
            }
            let mut statuses: Vec<(u16, &str)> = vec![(500, "An unexpected failure; nothing was changed")];
            if path.contains('{') {
                statuses.push((404, "Nothing of this merchant's has this id"));
            }
            if api {
                statuses.push((400, "The request is not valid; `details.field` names what is wrong"));
                statuses.push((401, "No key, or a key that is unknown, revoked or expired"));
                statuses.push((403, "The key may not do this"));
                statuses.push((429, "Too many requests; retry after `Retry-After` seconds"));
                if has_body {
                    statuses.push((413, "The body is over the limit"));
                }
                if method == "post" {
                    statuses.push((409, "The idempotency key is in use, or names another request"));
                    add_idempotency_header(operation);
                }
            }
            let responses = operation["responses"].as_object_mut().expect("every operation has responses");
            for (status, description) in statuses {
                responses.entry(status.to_string()).or_insert_with(|| error_response(status, description));
            }
        }
    }
    doc
}

fn error_response(status: u16, description: &str) -> Value {
    let mut response = json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorEnvelope" } } },
    });
    if status == 429 {
        response["headers"] = json!({ "Retry-After": { "description": "Seconds to wait", "schema": { "type": "integer", "minimum": 0 } } });
    }
    response
}

/// The header the idempotency layer reads: visible ASCII, 1 to 255 characters.
fn add_idempotency_header(operation: &mut Value) {
    let parameters = operation.as_object_mut().expect("an operation is an object").entry("parameters").or_insert_with(|| json!([]));
    let parameters = parameters.as_array_mut().expect("parameters are a list");
    parameters.retain(|p| p["name"] != "Idempotency-Key");
    parameters.push(json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "Makes the request safe to retry: a replay returns the first answer",
        "schema": { "type": "string", "minLength": 1, "maxLength": crate::http::idempotency::MAX_KEY_LEN, "pattern": "^[!-~]([ -~]*[!-~])?$" },
    }));
}
