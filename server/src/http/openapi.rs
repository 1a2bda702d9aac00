//! The OpenAPI document, served at `/api/v1/openapi.json`.

use kassa::api::{
    CardToken, CreatedApiKey, Customer, CustomerSession, DeliveryAttempt, Event, IntentWithHistory, Order, PageMeta, PaymentIntent,
    SavedPaymentMethod, WebhookEndpoint,
};
use serde_json::{json, Value};
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

#[derive(serde::Serialize, ToSchema)]
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

#[derive(serde::Serialize, ToSchema)]
pub struct CountsResponse {
    pub data: kassa::api::FailedCounts,
}

/// `GET /payments/failed`: a page, or with `counts=true` only the counts.
#[derive(serde::Serialize, ToSchema)]
#[serde(untagged)]
pub enum FailedAnswer {
    Page(IntentPage),
    Counts(CountsResponse),
}

#[derive(ToSchema)]
pub struct DeliveryQueuedResponse {
    pub data: kassa::api::DeliveryQueued,
}

#[derive(ToSchema)]
pub struct ConsoleSessionResponse {
    pub data: kassa::api::ConsoleSession,
}

#[derive(ToSchema)]
pub struct SignedOut {
    /// Always false.
    pub signed_in: bool,
}

#[derive(ToSchema)]
pub struct SignedOutResponse {
    pub data: SignedOut,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
        components.add_security_scheme("apiKey", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
        // A console session stands in for a key; its changes also carry `X-CSRF-Token`.
        components.add_security_scheme("consoleSession", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("kassa_session"))));
    }
}

/// The document's frame; its paths come from the router (`http::app_with_pages`), so no route can be
/// served undocumented or documented unserved.
#[derive(OpenApi)]
#[openapi(
    info(title = "Kassa API", version = "1", description = "Card payments: tokenize, authorize, capture, void, refund, tip, search.

Every POST is safe to retry: send an idempotency key (1 to 255 characters) as the `Idempotency-Key` header, as `clientRequestId` in the body, or both. Keys belong to the API key that sent them and are kept 24 hours. A retry under the same key replays the first answer, status and body; the same key with another request is `409 DUPLICATE_REQUEST`, and so is a retry while the first is still running (with `details.retryable: true`). A header and a different `clientRequestId` are two names of one request: it runs once, a retry under either or both replays it, and neither may name another request; keys that already name two different requests are `409 DUPLICATE_REQUEST`."),
    modifiers(&Security),
    security(("bearer" = []), ("apiKey" = []), ("consoleSession" = [])),
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
    inline_minor_units(&mut doc);
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        constrain(schemas);
    }
    let schemas = doc["components"]["schemas"].clone();
    let Some(paths) = doc["paths"].as_object_mut() else { return doc };
    for (path, item) in paths.iter_mut() {
        let api = path.starts_with("/api/v1/");
        let Some(item) = item.as_object_mut() else { continue };
        for (method, operation) in item.iter_mut() {
            tidy_parameters(path, operation);
            let has_body = operation.get("requestBody").is_some();
            if let Some(body) = operation.get_mut("requestBody") {
                let reference = body.pointer("/content/application~1json/schema/$ref").and_then(Value::as_str).unwrap_or_default();
                let name = reference.rsplit('/').next().unwrap_or_default();
                let required = schemas[name]["required"].as_array().is_some_and(|r| !r.is_empty()) || schemas[name].get("oneOf").is_some();
                body["required"] = json!(required);
            }
            if path == "/api/v1/payments/authorize" {
                // The tip belongs to a sale.
                operation["requestBody"]["content"]["application/json"]["schema"] = json!({ "allOf": [
                    { "$ref": "#/components/schemas/ChargeRequest" },
                    { "properties": { "tipCents": { "type": "null" } } },
                ] });
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
                if method == "post" && !path.starts_with("/api/v1/console/") {
                    statuses.push((409, "The idempotency key is in use, or names another request"));
                    add_idempotency_header(operation);
                }
            }
            let responses = operation["responses"].as_object_mut().expect("every operation has responses");
            for (status, description) in statuses {
                responses.entry(status.to_string()).or_insert_with(|| error_response(status, description));
            }
            // What a processor's failure means, wherever an operation can meet one.
            for (status, description) in [
                ("502", "The card processor failed (`PROVIDER_ERROR`)"),
                ("504", "The card processor did not answer in time (`PROVIDER_TIMEOUT`); the outcome is unknown until reconciled"),
            ] {
                if let Some(response) = responses.get_mut(status).filter(|r| r["description"] == "") {
                    response["description"] = json!(description);
                }
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

/// The header the idempotency layer reads: visible ASCII (and tabs), 1 to 255 characters.
fn add_idempotency_header(operation: &mut Value) {
    let parameters = operation.as_object_mut().expect("an operation is an object").entry("parameters").or_insert_with(|| json!([]));
    let parameters = parameters.as_array_mut().expect("parameters are a list");
    parameters.retain(|p| p["name"] != "Idempotency-Key");
    parameters.push(json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "Makes the request safe to retry: a replay returns the first answer. With a different `clientRequestId`, both name this one request",
        // HTTP drops the white space around a header's value: what is left is the key.
        "schema": { "type": "string", "pattern": format!("^[\\t ]*[!-~](?:[\\t -~]{{0,{}}}[!-~])?[\\t ]*$", kassa::api::IDEMPOTENCY_KEY_MAX_LEN - 2) },
    }));
}

/// Every amount is a `MinorUnits`, which is a JSON integer on the wire: written as one in place
/// (and as an integer or null where it is optional), so that each amount's own limits sit beside
/// its type rather than around a reference.
fn inline_minor_units(doc: &mut Value) {
    inline_amounts(doc);
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.remove("MinorUnits");
    }
}

fn inline_amounts(value: &mut Value) {
    const REF: &str = "#/components/schemas/MinorUnits";
    let is_ref = |v: &Value| v.get("$ref").and_then(Value::as_str) == Some(REF);
    match value {
        Value::Object(map) => {
            let optional = map.get("oneOf").and_then(Value::as_array).is_some_and(|options| {
                options.len() == 2 && options.iter().any(|o| o == &json!({ "type": "null" })) && options.iter().any(&is_ref)
            });
            if optional {
                let inner = map.remove("oneOf").and_then(|o| o.as_array().and_then(|o| o.iter().find(|o| is_ref(o)).cloned()));
                if let Some(Value::Object(inner)) = inner {
                    map.extend(inner.into_iter().filter(|(k, _)| k != "$ref"));
                }
                map.insert("type".into(), json!(["integer", "null"]));
                map.insert("format".into(), json!("int64"));
            } else if map.get("$ref").and_then(Value::as_str) == Some(REF) {
                map.remove("$ref");
                map.insert("type".into(), json!("integer"));
                map.insert("format".into(), json!("int64"));
            }
            map.values_mut().for_each(inline_amounts);
        }
        Value::Array(items) => items.iter_mut().for_each(inline_amounts),
        _ => {}
    }
}

/// The rules the handlers enforce, written into the schemas they apply to, with the constants the
/// checks use. A rule that depends on another field (one of `card`, `token`, `paymentMethodId`; a
/// restricted key's permissions; the processor's secrets) is written as a JSON Schema condition.
/// What no schema can say (a card number's check digit, an expiry in the future, a tip within the
/// amount, a cursor this API gave) is in the field's description.
fn constrain(schemas: &mut serde_json::Map<String, Value>) {
    use crate::payments::{MAX_AMOUNT_CENTS, MAX_TEXT};
    let text = || json!({ "minLength": 1, "maxLength": MAX_TEXT });
    let amount = || json!({ "minimum": 1, "maximum": MAX_AMOUNT_CENTS });
    let at_least_zero = || json!({ "minimum": 0, "maximum": MAX_AMOUNT_CENTS });
    let metadata = json!({ "maxProperties": 50, "propertyNames": { "minLength": 1, "maxLength": 40 } });
    let card_only = json!({ "enum": ["card", null] });
    let ledger_method = json!({ "minLength": 1, "maxLength": 64, "not": { "const": "card" } });
    let mut events: Vec<&str> = vec!["*"];
    events.extend_from_slice(kassa::api::EVENT_TYPES);
    let rules: Vec<(&str, &str, Value)> = vec![
        (
            "CardInput",
            "number",
            json!({ "pattern": "^[0-9 -]+$", "description": "12 to 19 digits (spaces and dashes are ignored) that pass the Luhn check, of a length the brand uses" }),
        ),
        ("CardInput", "expMonth", json!({ "minimum": 1, "maximum": 12 })),
        ("CardInput", "expYear", json!({ "maximum": 2099, "description": "Four digits, or two (20YY); the card must not have expired" })),
        ("CardInput", "cvc", json!({ "pattern": "[0-9]{3}", "description": "3 digits, or 4 for American Express" })),
        ("CardInput", "name", text()),
        ("CardInput", "postalCode", json!({ "pattern": "^[A-Za-z0-9 -]{0,16}$" })),
        ("LineItem", "name", text()),
        ("LineItem", "unitAmountCents", at_least_zero()),
        // A whole number the server reads as u32, beyond the int32 the type's format would say.
        ("LineItem", "quantity", json!({ "minimum": 1, "maximum": u32::MAX, "format": "int64" })),
        ("ChargeRequest", "amountCents", amount()),
        (
            "ChargeRequest",
            "tipCents",
            json!({ "minimum": 0, "maximum": MAX_AMOUNT_CENTS, "description": "Sale only: a tip within `amountCents` (together at most the largest amount)" }),
        ),
        ("ChargeRequest", "reference", text()),
        ("ChargeRequest", "customerId", text()),
        ("ChargeRequest", "locationId", text()),
        ("ChargeRequest", "terminalId", text()),
        ("ChargeRequest", "paymentMethodType", card_only.clone()),
        ("ChargeRequest", "metadata", metadata.clone()),
        (
            "CaptureRequest",
            "amountCents",
            json!({ "minimum": 1, "maximum": MAX_AMOUNT_CENTS, "description": "At most what was authorized, and at least the tip; omit to capture it all" }),
        ),
        ("RefundRequest", "amountCents", amount()),
        ("RefundRequest", "reason", text()),
        ("TipRequest", "tipCents", json!({ "minimum": 0, "maximum": MAX_AMOUNT_CENTS, "description": "At most the payment's amount" })),
        ("CreateIntentRequest", "amountCents", amount()),
        ("CreateIntentRequest", "reference", text()),
        ("CreateIntentRequest", "locationId", text()),
        ("CreateIntentRequest", "metadata", metadata.clone()),
        ("UpdateIntentRequest", "amountCents", amount()),
        ("UpdateIntentRequest", "metadata", metadata.clone()),
        ("ConfirmIntentRequest", "saveCard", json!({ "description": "Only for an intent created with a customerId" })),
        (
            "ConfirmIntentRequest",
            "tipCents",
            json!({ "minimum": 0, "maximum": MAX_AMOUNT_CENTS, "description": "A tip within the intent's amount" }),
        ),
        (
            "ConfirmIntentRequest",
            "returnUrl",
            json!({ "maxLength": 2048, "pattern": "^[hH][tT][tT][pP][sS]?://[^\\s\\\\]+$", "description": "An http or https address on the confirming page's site" }),
        ),
        (
            "ConfirmIntentRequest",
            "frameAncestors",
            json!({ "maxItems": 3, "items": { "maxLength": 200, "pattern": "^[hH][tT][tT][pP][sS]?://[^/@\\s]+$" } }),
        ),
        ("CreateCustomerRequest", "email", json!({ "minLength": 1, "maxLength": MAX_TEXT, "pattern": "@" })),
        ("CreateCustomerRequest", "name", text()),
        ("CreateCustomerRequest", "metadata", metadata.clone()),
        ("SavePaymentMethodRequest", "nickname", json!({ "minLength": 1, "maxLength": 100 })),
        ("RetryRequest", "paymentMethodType", card_only),
        ("ResolveRequest", "reason", text()),
        ("ResolveRequest", "otherMeansType", text()),
        (
            "CreateOrderRequest",
            "lineItems",
            json!({ "minItems": 1, "maxItems": 100, "items": { "properties": { "quantity": { "maximum": 10_000 } } }, "description": "1 to 100 lines, quantity 1 to 10000, totalling at most the largest amount" }),
        ),
        (
            "UpdateOrderRequest",
            "lineItems",
            json!({ "minItems": 1, "maxItems": 100, "items": { "properties": { "quantity": { "maximum": 10_000 } } }, "description": "1 to 100 lines, quantity 1 to 10000, totalling at most the largest amount" }),
        ),
        ("CreateOrderRequest", "customerId", text()),
        ("CreateOrderRequest", "metadata", json!({ "maxProperties": 50 })),
        ("CreateOrderPaymentRequest", "amountCents", amount()),
        ("CreateOrderPaymentRequest", "methodId", ledger_method.clone()),
        ("CreateOrderPaymentRequest", "status", json!({ "enum": ["pending", "complete", null] })),
        ("CreateOrderPaymentRequest", "note", json!({ "maxLength": 2000 })),
        ("CreateOrderPaymentRequest", "transactionRef", text()),
        ("CreateOrderPaymentRequest", "sourcePaymentId", text()),
        ("CreateOrderPaymentRequest", "invoiceId", text()),
        ("UpdateOrderPaymentRequest", "amountCents", amount()),
        ("UpdateOrderPaymentRequest", "methodId", ledger_method),
        ("UpdateOrderPaymentRequest", "note", json!({ "maxLength": 2000 })),
        ("UpdateOrderPaymentRequest", "transactionRef", text()),
        ("UpdateOrderPaymentRequest", "invoiceId", text()),
        ("CreateApiKeyRequest", "name", json!({ "maxLength": MAX_TEXT })),
        ("RollApiKeyRequest", "expiresInSeconds", json!({ "minimum": 0, "maximum": kassa::api::ROLL_GRACE_MAX_SECONDS })),
        (
            "CreateWebhookEndpointRequest",
            "url",
            json!({ "maxLength": 2048, "pattern": "^[hH][tT][tT][pP][sS]?://[^/?#\\s]+", "description": "An http or https address outside private networks and special-use ranges" }),
        ),
        ("CreateWebhookEndpointRequest", "events", json!({ "minItems": 1, "items": { "enum": events } })),
        ("UpdateProcessorRequest", "secretKey", json!({ "maxLength": MAX_TEXT, "pattern": "^[!-~]*$" })),
        ("UpdateProcessorRequest", "webhookSecret", json!({ "maxLength": MAX_TEXT, "pattern": "^[!-~]*$" })),
    ];
    for (schema, property, rule) in rules {
        let target = schemas
            .get_mut(schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{property}")))
            .unwrap_or_else(|| panic!("{schema}.{property} is not in the document"));
        merge(target, rule);
    }
    for (name, schema) in schemas.iter_mut() {
        if let Some(id) = schema.pointer_mut("/properties/clientRequestId") {
            merge(
                id,
                json!({ "minLength": 1, "maxLength": kassa::api::IDEMPOTENCY_KEY_MAX_LEN, "description": "The idempotency key, as the `Idempotency-Key` header is; with a different header, both name this one request" }),
            );
        }
        let one_source = matches!(name.as_str(), "ChargeRequest" | "ConfirmIntentRequest");
        let at_most_one_source = name == "RetryRequest";
        let given = |field: &str| json!({ "required": [field], "properties": { field: { "not": { "type": "null" } } } });
        if one_source {
            schema["oneOf"] = json!([given("card"), given("token"), given("paymentMethodId")]);
        }
        if at_most_one_source {
            schema["not"] = json!({ "anyOf": [
                { "allOf": [given("card"), given("token")] },
                { "allOf": [given("card"), given("paymentMethodId")] },
                { "allOf": [given("token"), given("paymentMethodId")] },
            ] });
        }
    }
    schemas["CreateApiKeyRequest"]["if"] = json!({ "properties": { "kind": { "const": "restricted" } } });
    schemas["CreateApiKeyRequest"]["then"] = json!({ "required": ["permissions"], "properties": { "permissions": { "minItems": 1 } } });
    schemas["CreateApiKeyRequest"]["else"] = json!({ "properties": { "permissions": { "maxItems": 0 } } });
    schemas["UpdateProcessorRequest"]["if"] = json!({ "properties": { "processor": { "const": "stripe" } } });
    schemas["UpdateProcessorRequest"]["then"] = json!({ "required": ["secretKey"], "properties": {
        "secretKey": { "type": "string", "pattern": "^(sk|rk)_" },
        "webhookSecret": { "pattern": "^whsec_" },
    } });
    schemas["UpdateProcessorRequest"]["else"] =
        json!({ "properties": { "secretKey": { "type": "null" }, "webhookSecret": { "type": "null" } } });
    schemas["ResolveRequest"]["if"] = json!({ "required": ["otherMeansType"], "properties": { "otherMeansType": { "type": "string" } } });
    schemas["ResolveRequest"]["then"] =
        json!({ "required": ["paidByOtherMeans"], "properties": { "paidByOtherMeans": { "const": true } } });
}

/// Adds `rule`'s keys to `target`; a reference or a `oneOf` with null is wrapped so both apply.
fn merge(target: &mut Value, rule: Value) {
    if target.get("$ref").is_some() || target.get("oneOf").is_some() {
        let inner = target.take();
        *target = json!({ "allOf": [inner] });
    }
    let object = target.as_object_mut().expect("a schema is an object");
    for (key, value) in rule.as_object().expect("a rule is an object") {
        match (object.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more.clone()),
            _ => {
                object.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Query parameters are absent or have a value; none is `null`. Every page's `limit` has the
/// bounds the lists check, and its `cursor` is not empty.
fn tidy_parameters(path: &str, operation: &mut Value) {
    let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) else { return };
    for parameter in parameters {
        let Some(schema) = parameter.get_mut("schema") else { continue };
        if let Some(types) = schema.get_mut("type").and_then(Value::as_array_mut) {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let only = types[0].clone();
                schema["type"] = only;
            }
        }
        if let Some(choices) = schema.get("oneOf").and_then(Value::as_array) {
            let kept: Vec<Value> = choices.iter().filter(|c| c["type"] != "null").cloned().collect();
            if kept.len() == 1 {
                *schema = kept[0].clone();
            }
        }
        match parameter["name"].as_str() {
            Some("limit") => merge(&mut parameter["schema"], json!({ "minimum": 1, "maximum": kassa::api::PAGE_LIMIT_MAX })),
            Some("status") if path == "/api/v1/payments/failed" => parameter["schema"] = json!({ "enum": ["declined", "error"] }),
            Some("cardLast4") => merge(&mut parameter["schema"], json!({ "pattern": "^[0-9]{4}$" })),
            // An empty value is a value, checked as every other parameter's is (`limit=` is not
            // the default limit either): a cursor is never empty.
            Some("cursor") => {
                merge(&mut parameter["schema"], json!({ "minLength": 1, "description": "The `meta.cursor` of the page before" }))
            }
            _ => {}
        }
    }
}
