//! The OpenAPI 3.1 document of the Stripe face, served at `/v1/openapi.json`: each route of
//! [`super::routes`] with the parameters its handler reads (and no others: the face refuses any
//! parameter it does not know, `parameter_unknown`), the objects it answers and every error it can
//! answer with, in Stripe's envelope.
//!
//! Parameters travel as Stripe's clients send them: `application/x-www-form-urlencoded` bodies and
//! query strings whose nested keys are bracketed (`metadata[order]=6735`, `card[exp_month]=12`,
//! `expand[0]=customer`) — `style: deepObject, explode: true` in OpenAPI's terms. An empty value
//! (`description=`) reads as the parameter not given, which is how the clients unset a field, so
//! every optional parameter also takes `""`.
//!
//! Built here rather than written as a JSON file so that the limits are the constants the checks
//! use; a test keeps its operations the router's.

use serde_json::{json, Map, Value};

use super::wire::STRIPE_EVENT_TYPES;
use crate::payments::{MAX_AMOUNT_CENTS, MAX_TEXT};

/// The statuses an error can have, each with what it means on the face.
const ERRORS: &[(u16, &str)] = &[
    (
        400,
        "The request is not valid (`invalid_request_error`): `param` names the parameter and `code` says what is wrong with it \
         (`parameter_unknown`, `parameter_missing`, `parameter_invalid_integer`, …); or the object is not in a state for it \
         (`payment_intent_unexpected_state`, `amount_too_large`, …); or the `Idempotency-Key` was used for another request \
         (`idempotency_error`)",
    ),
    (401, "No API key, or one that is unknown, revoked or expired"),
    (402, "The card was declined (`card_error`, with `decline_code`, and the PaymentIntent as `payment_intent` where there is one)"),
    (403, "The key may not do this (a publishable key, or a restricted key without the permission)"),
    (404, "No object of the account has this id (`resource_missing`; `param` names the parameter that gave it)"),
    (409, "A request under the same `Idempotency-Key` is still running (`idempotency_key_in_use`): retry it"),
    (413, "The body is over 64 KiB"),
    (429, "Too many requests (`rate_limit`): retry after `Retry-After` seconds"),
    (500, "An unexpected failure (`api_error`)"),
    (502, "The card processor failed (`api_error`, `processing_error`): retry under the same `Idempotency-Key` to learn the outcome"),
    (503, "The service is unavailable just now (`api_error`): send the same request again"),
    (504, "The card processor did not answer in time (`api_error`, `processing_error`): retry under the same `Idempotency-Key`"),
];

/// An optional parameter: its schema, or `""` (not given).
fn opt(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "string", "const": "" }] })
}

fn text() -> Value {
    json!({ "type": "string", "maxLength": MAX_TEXT })
}

/// A parameter read as a string but never limited (an id, a filter).
fn string() -> Value {
    json!({ "type": "string" })
}

fn amount() -> Value {
    json!({ "type": "integer", "minimum": 1, "maximum": MAX_AMOUNT_CENTS })
}

fn boolean() -> Value {
    json!({ "type": "boolean" })
}

fn choice(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values })
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A bracketed key holds no brackets of its own.
const KEY_PATTERN: &str = r"^[^\[\]]+$";

/// `metadata[key]=value`: at most 50 keys of 1 to 40 characters, values of at most 500; `metadata=`
/// clears it, and on an update a key sent empty is removed.
fn metadata() -> Value {
    opt(json!({
        "type": "object",
        "maxProperties": 50,
        "propertyNames": { "minLength": 1, "maxLength": 40, "pattern": KEY_PATTERN },
        "additionalProperties": { "type": "string", "maxLength": 500 },
        "description": "Up to 50 keys of 1 to 40 characters, values of up to 500",
    }))
}

/// `expand[]`: the fields to answer as objects rather than ids. Any name is taken; those that
/// expand are listed.
fn expand(fields: &[&str]) -> Value {
    let description = if fields.is_empty() {
        "Taken for Stripe's clients; nothing of this object expands".to_owned()
    } else {
        format!("Fields to answer as objects rather than ids: {}", fields.join(", "))
    };
    opt(json!({ "type": "array", "items": { "type": "string" }, "description": description }))
}

/// A card as `card[number]`, `card[exp_month]`, `card[exp_year]`, `card[cvc]`.
fn card() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["number", "exp_month", "exp_year"],
        "properties": {
            "number": { "type": "string", "pattern": "^[0-9 -]+$", "description": "12 to 19 digits (spaces and dashes are ignored) that pass the Luhn check, of a length the brand uses" },
            "exp_month": { "type": "integer", "minimum": 1, "maximum": 12 },
            "exp_year": { "type": "integer", "minimum": 0, "maximum": 2099, "description": "Four digits, or two (20YY); the card must not have expired" },
            "cvc": opt(json!({ "type": "string", "pattern": "^[0-9]{3,4}$", "description": "3 digits, or 4 for American Express" })),
        },
    })
}

/// `billing_details[...]`: taken as Stripe's clients send it, and not kept.
fn billing_details() -> Value {
    let address: Map<String, Value> =
        ["city", "country", "line1", "line2", "postal_code", "state"].iter().map(|f| (f.to_string(), opt(string()))).collect();
    opt(json!({
        "type": "object",
        "additionalProperties": false,
        "description": "Taken, and not kept",
        "properties": {
            "address": opt(json!({ "type": "object", "additionalProperties": false, "properties": address })),
            "email": opt(string()),
            "name": opt(string()),
            "phone": opt(string()),
        },
    }))
}

/// `payment_method_data[...]`: a card to pay with, made a PaymentMethod on the way.
fn payment_method_data() -> Value {
    opt(json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["type", "card"],
        "properties": {
            "type": choice(&["card"]),
            "card": card(),
            "billing_details": billing_details(),
            "metadata": metadata(),
        },
    }))
}

fn payment_method() -> Value {
    opt(json!({
        "type": "string",
        "description": "A PaymentMethod's id (`pm_…`), a token (`tok_…`), or one of Stripe's test payment methods (`pm_card_visa`, `pm_card_chargeDeclined`, `tok_visa`, …)",
    }))
}

fn card_types() -> Value {
    opt(json!({ "type": "array", "items": choice(&["card"]), "description": "Cards only" }))
}

/// The optional parameters that are given: absent, or `""`.
fn absent(name: &str) -> Value {
    json!({ "properties": { name: { "const": "" } } })
}

/// A form body: its properties, the ones required, and the conditions between them.
fn form(properties: Value, required: &[&str], rules: Vec<Value>) -> Value {
    let nested: Map<String, Value> = properties
        .as_object()
        .expect("properties are an object")
        .iter()
        .filter(|(_, schema)| nests(schema))
        .map(|(name, _)| (name.clone(), json!({ "style": "deepObject", "explode": true })))
        .collect();
    let mut schema = json!({ "type": "object", "additionalProperties": false, "properties": properties });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    let ruled = !rules.is_empty();
    if ruled {
        schema["allOf"] = json!(rules);
    }
    let mut media = json!({ "schema": schema });
    if !nested.is_empty() {
        media["encoding"] = Value::Object(nested);
    }
    // A body is required where something in it is: a parameter, or one of a rule's.
    json!({ "required": !required.is_empty() || ruled, "content": { "application/x-www-form-urlencoded": media } })
}

/// Whether a parameter's value is an object or a list (sent as bracketed keys).
fn nests(schema: &Value) -> bool {
    match schema.get("anyOf").and_then(Value::as_array) {
        Some(options) => options.iter().any(nests),
        None => matches!(schema["type"].as_str(), Some("object" | "array")),
    }
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    let mut parameter = json!({ "name": name, "in": "query", "required": false, "schema": schema });
    if !description.is_empty() {
        parameter["description"] = json!(description);
    }
    if nests(&parameter["schema"]) {
        parameter["style"] = json!("deepObject");
        parameter["explode"] = json!(true);
    }
    parameter
}

fn required_query(name: &str, schema: Value, description: &str) -> Value {
    let mut parameter = query(name, schema, description);
    parameter["required"] = json!(true);
    parameter
}

/// `expand[]=…` in a query.
fn expand_query(fields: &[&str]) -> Value {
    let description = if fields.is_empty() {
        "Taken for Stripe's clients; nothing here expands".to_owned()
    } else {
        format!("Fields to answer as objects rather than ids: {}", fields.join(", "))
    };
    json!({
        "name": "expand[]",
        "in": "query",
        "required": false,
        "description": description,
        "style": "form",
        "explode": true,
        "schema": { "type": "array", "items": { "type": "string" } },
    })
}

fn limit() -> Value {
    let mut limit =
        query("limit", opt(json!({ "type": "integer", "minimum": 1, "maximum": 100 })), "Objects a page holds: 1 to 100, 10 unless said");
    limit["example"] = json!(3);
    limit
}

fn cursor(name: &str, object: &str) -> Value {
    let description = match name {
        "starting_after" => format!("The id of a {object} of this list: the page after it"),
        _ => format!("The id of a {object} of this list: the page before it"),
    };
    query(name, opt(string()), &description)
}

fn created() -> Value {
    let bound = || opt(json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX }));
    query(
        "created",
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": { "gt": bound(), "gte": bound(), "lt": bound(), "lte": bound() },
        }),
        "A range of creation times in Unix seconds: `created[gte]=…`, `created[lt]=…` and their kin (`created=<seconds>` is also taken, for that one second)",
    )
}

fn id_parameter(object: &str) -> Value {
    json!({ "name": "id", "in": "path", "required": true, "description": format!("The {object}'s id"), "schema": { "type": "string" } })
}

/// One operation: its id, summary, parameters, body, the object it answers and the errors it can.
struct Op {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    parameters: Vec<Value>,
    body: Option<Value>,
    answer: &'static str,
    /// Beyond those every operation can meet (400, 401, 403, 429, 500, 503), and those its method
    /// and path bring (404 for an id, 409 and 413 for a POST).
    errors: &'static [u16],
}

/// The errors an operation can answer with.
fn statuses(op: &Op) -> Vec<u16> {
    let mut statuses = vec![400, 401, 403, 429, 500, 503];
    if op.path.contains('{') {
        statuses.push(404);
    }
    if op.method == "post" {
        statuses.extend([409, 413]);
    }
    statuses.extend_from_slice(op.errors);
    statuses.sort_unstable();
    statuses.dedup();
    statuses
}

/// What calls the card processor can meet: a decline, its failure, or its silence.
const PROCESSOR: &[u16] = &[402, 502, 504];
/// What names another object by id in its parameters (a customer, a payment method, a charge).
const REFERS: &[u16] = &[404];
const PROCESSOR_REFERS: &[u16] = &[402, 404, 502, 504];

fn operations() -> Vec<Op> {
    let pi_expand = &["customer", "latest_charge", "payment_method"];
    let list_expand = &["data.customer", "data.latest_charge", "data.payment_method"];
    let pending_create = json!({
        "anyOf": [
            { "properties": { "confirm": { "const": false } } },
            { "required": ["payment_method"], "properties": { "payment_method": { "minLength": 1 } } },
            { "required": ["payment_method_data"], "properties": { "payment_method_data": { "type": "object" } } },
        ],
        "description": "Confirming takes a payment method",
    });
    let saving_needs_customer = json!({
        "anyOf": [{ "properties": { "confirm": { "const": false } } }, absent("setup_future_usage"), { "required": ["customer"], "properties": { "customer": { "minLength": 1 } } }],
        "description": "Saving the card (`setup_future_usage`) takes a customer",
    });
    let pays = json!({
        "anyOf": [
            { "required": ["payment_method"], "properties": { "payment_method": { "minLength": 1 } } },
            { "required": ["payment_method_data"], "properties": { "payment_method_data": { "type": "object" } } },
        ],
        "description": "A payment method: `payment_method`, or a card in `payment_method_data`",
    });
    let off_session = opt(json!({ "anyOf": [boolean(), choice(&["one_off", "recurring"])] }));
    let confirming_only = |names: &[&str]| {
        json!({
            "anyOf": [
                { "required": ["confirm"], "properties": { "confirm": { "const": true } } },
                { "allOf": names.iter().map(|name| absent(name)).collect::<Vec<_>>() },
            ],
            "description": format!("{} only with `confirm=true`: only confirming reads them", names.join(", ")),
        })
    };
    let return_url = || {
        opt(json!({
            "type": "string",
            "maxLength": 2048,
            "pattern": "^[hH][tT][tT][pP][sS]?://[^\\s\\\\]+$",
            "description": "Where a 3-D Secure challenge returns to: an http or https address without credentials, on the confirming page's site where a browser confirms",
        }))
    };
    let setup_future_usage = opt(choice(&["on_session", "off_session"]));
    vec![
        Op {
            method: "post",
            path: "/v1/payment_intents",
            id: "PostPaymentIntents",
            summary: "Create a PaymentIntent, and with `confirm=true` confirm it in the same call",
            parameters: vec![],
            body: Some(form(
                json!({
                    "amount": amount(),
                    "currency": { "type": "string", "enum": currencies(), "description": "A three-letter ISO code, in any case" },
                    "capture_method": opt(choice(&["automatic", "automatic_async", "manual"])),
                    "confirm": opt(boolean()),
                    "confirmation_method": opt(choice(&["automatic", "manual"])),
                    "payment_method": payment_method(),
                    "payment_method_data": payment_method_data(),
                    "payment_method_types": card_types(),
                    "automatic_payment_methods": opt(json!({
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["enabled"],
                        "properties": { "enabled": boolean(), "allow_redirects": opt(choice(&["always", "never"])) },
                        "description": "Taken for Stripe's clients: the payment methods are cards either way",
                    })),
                    "customer": opt(json!({ "type": "string", "description": "A customer's id (`cus_…`)" })),
                    "setup_future_usage": setup_future_usage.clone(),
                    "off_session": off_session.clone(),
                    "return_url": return_url(),
                    "metadata": metadata(),
                    "description": opt(text()),
                    "expand": expand(pi_expand),
                }),
                &["amount", "currency"],
                vec![
                    pending_create,
                    saving_needs_customer,
                    confirming_only(&["payment_method", "payment_method_data", "setup_future_usage", "off_session", "return_url"]),
                ],
            )),
            answer: "payment_intent",
            errors: PROCESSOR_REFERS,
        },
        Op {
            method: "get",
            path: "/v1/payment_intents",
            id: "GetPaymentIntents",
            summary: "List PaymentIntents, newest first",
            parameters: vec![
                limit(),
                cursor("starting_after", "PaymentIntent"),
                cursor("ending_before", "PaymentIntent"),
                query("customer", opt(string()), "Only this customer's"),
                created(),
                expand_query(list_expand),
            ],
            body: None,
            answer: "payment_intent_list",
            errors: &[],
        },
        Op {
            method: "get",
            path: "/v1/payment_intents/{id}",
            id: "GetPaymentIntentsId",
            summary: "Retrieve a PaymentIntent",
            parameters: vec![
                id_parameter("PaymentIntent"),
                query("client_secret", opt(string()), "With a publishable key: the secret its creation answered"),
                expand_query(pi_expand),
            ],
            body: None,
            answer: "payment_intent",
            errors: &[],
        },
        Op {
            method: "post",
            path: "/v1/payment_intents/{id}",
            id: "PostPaymentIntentsId",
            summary: "Update a PaymentIntent that is not yet paid",
            parameters: vec![id_parameter("PaymentIntent")],
            body: Some(form(
                json!({ "amount": opt(amount()), "metadata": metadata(), "description": opt(text()), "expand": expand(pi_expand) }),
                &[],
                vec![],
            )),
            answer: "payment_intent",
            errors: &[],
        },
        Op {
            method: "post",
            path: "/v1/payment_intents/{id}/confirm",
            id: "PostPaymentIntentsIdConfirm",
            summary: "Confirm a PaymentIntent with a payment method",
            parameters: vec![id_parameter("PaymentIntent")],
            body: Some(form(
                json!({
                    "payment_method": payment_method(),
                    "payment_method_data": payment_method_data(),
                    "setup_future_usage": setup_future_usage,
                    "off_session": off_session,
                    "return_url": return_url(),
                    "client_secret": opt(json!({ "type": "string", "description": "With a publishable key: the secret its creation answered" })),
                    "payment_method_types": card_types(),
                    "expand": expand(pi_expand),
                }),
                &[],
                vec![pays.clone()],
            )),
            answer: "payment_intent",
            errors: PROCESSOR_REFERS,
        },
        Op {
            method: "post",
            path: "/v1/payment_intents/{id}/capture",
            id: "PostPaymentIntentsIdCapture",
            summary: "Capture an authorized PaymentIntent (`requires_capture`), all of it or less",
            parameters: vec![id_parameter("PaymentIntent")],
            body: Some(form(
                json!({
                    "amount_to_capture": opt(json!({ "type": "integer", "minimum": 1, "maximum": MAX_AMOUNT_CENTS, "description": "At most what was authorized; all of it unless said" })),
                    "expand": expand(pi_expand),
                }),
                &[],
                vec![],
            )),
            answer: "payment_intent",
            errors: PROCESSOR,
        },
        Op {
            method: "post",
            path: "/v1/payment_intents/{id}/cancel",
            id: "PostPaymentIntentsIdCancel",
            summary: "Cancel a PaymentIntent that is not paid (an authorization is voided)",
            parameters: vec![id_parameter("PaymentIntent")],
            body: Some(form(
                json!({
                    "cancellation_reason": opt(choice(&["duplicate", "fraudulent", "requested_by_customer", "abandoned"])),
                    "expand": expand(pi_expand),
                }),
                &[],
                vec![],
            )),
            answer: "payment_intent",
            errors: PROCESSOR,
        },
        Op {
            method: "post",
            path: "/v1/payment_methods",
            id: "PostPaymentMethods",
            summary: "Make a card a PaymentMethod (with a publishable key, as Stripe.js does, or a secret key)",
            parameters: vec![],
            body: Some(form(
                json!({
                    "type": choice(&["card"]),
                    "card": card(),
                    "billing_details": billing_details(),
                    "metadata": { "description": "Taken, and not kept", "allOf": [metadata()] },
                    "expand": expand(&[]),
                }),
                &["type", "card"],
                vec![],
            )),
            answer: "payment_method",
            errors: PROCESSOR,
        },
        Op {
            method: "get",
            path: "/v1/payment_methods",
            id: "GetPaymentMethods",
            summary: "List a customer's saved cards",
            parameters: vec![
                required_query("customer", json!({ "type": "string", "minLength": 1 }), "The customer's id"),
                query("type", opt(string()), "`card`; any other type lists nothing"),
                limit(),
                cursor("starting_after", "PaymentMethod"),
                cursor("ending_before", "PaymentMethod"),
                expand_query(&[]),
            ],
            body: None,
            answer: "payment_method_list",
            errors: REFERS,
        },
        Op {
            method: "get",
            path: "/v1/payment_methods/{id}",
            id: "GetPaymentMethodsId",
            summary: "Retrieve a PaymentMethod",
            parameters: vec![id_parameter("PaymentMethod"), expand_query(&[])],
            body: None,
            answer: "payment_method",
            errors: &[],
        },
        Op {
            method: "post",
            path: "/v1/payment_methods/{id}/attach",
            id: "PostPaymentMethodsIdAttach",
            summary: "Save a PaymentMethod to a customer, under the same id",
            parameters: vec![id_parameter("PaymentMethod")],
            body: Some(form(json!({ "customer": { "type": "string", "minLength": 1 }, "expand": expand(&[]) }), &["customer"], vec![])),
            answer: "payment_method",
            errors: REFERS,
        },
        Op {
            method: "post",
            path: "/v1/payment_methods/{id}/detach",
            id: "PostPaymentMethodsIdDetach",
            summary: "Detach a saved PaymentMethod from its customer; it pays no more",
            parameters: vec![id_parameter("PaymentMethod")],
            body: Some(form(json!({ "expand": expand(&[]) }), &[], vec![])),
            answer: "payment_method",
            errors: &[],
        },
        Op {
            method: "post",
            path: "/v1/customers",
            id: "PostCustomers",
            summary: "Create a customer",
            parameters: vec![],
            body: Some(form(customer_fields(), &[], vec![])),
            answer: "customer",
            errors: &[],
        },
        Op {
            method: "get",
            path: "/v1/customers",
            id: "GetCustomers",
            summary: "List customers",
            parameters: vec![
                limit(),
                cursor("starting_after", "customer"),
                query("email", opt(string()), "Only the customers with this email"),
                expand_query(&[]),
            ],
            body: None,
            answer: "customer_list",
            errors: &[],
        },
        Op {
            method: "get",
            path: "/v1/customers/{id}",
            id: "GetCustomersId",
            summary: "Retrieve a customer",
            parameters: vec![id_parameter("customer"), expand_query(&[])],
            body: None,
            answer: "customer",
            errors: &[],
        },
        Op {
            method: "post",
            path: "/v1/customers/{id}",
            id: "PostCustomersId",
            summary: "Update a customer: `email=` or `name=` (empty) removes it, `metadata` merges",
            parameters: vec![id_parameter("customer")],
            body: Some(form(customer_fields(), &[], vec![])),
            answer: "customer",
            errors: &[],
        },
        Op {
            method: "delete",
            path: "/v1/customers/{id}",
            id: "DeleteCustomersId",
            summary: "Delete a customer",
            parameters: vec![id_parameter("customer")],
            body: None,
            answer: "deleted_customer",
            errors: &[],
        },
        Op {
            method: "get",
            path: "/v1/customers/{id}/payment_methods",
            id: "GetCustomersIdPaymentMethods",
            summary: "List a customer's saved cards",
            parameters: vec![
                id_parameter("customer"),
                query("type", opt(string()), "`card`; any other type lists nothing"),
                limit(),
                cursor("starting_after", "PaymentMethod"),
                cursor("ending_before", "PaymentMethod"),
                expand_query(&[]),
            ],
            body: None,
            answer: "payment_method_list",
            errors: &[],
        },
        Op {
            method: "post",
            path: "/v1/refunds",
            id: "PostRefunds",
            summary: "Refund a captured payment, all of what is left or less",
            parameters: vec![],
            body: Some(form(
                json!({
                    "payment_intent": opt(json!({ "type": "string", "description": "The PaymentIntent to refund; or give `charge`" })),
                    "charge": opt(json!({ "type": "string", "description": "The Charge to refund; or give `payment_intent`" })),
                    "amount": opt(json!({ "type": "integer", "minimum": 1, "maximum": MAX_AMOUNT_CENTS, "description": "At most what is left to refund; all of it unless said" })),
                    "reason": opt(choice(&["duplicate", "fraudulent", "requested_by_customer"])),
                    "expand": expand(&[]),
                }),
                &[],
                vec![json!({
                    "oneOf": [
                        { "required": ["payment_intent"], "properties": { "payment_intent": { "minLength": 1 } }, "allOf": [absent("charge")] },
                        { "required": ["charge"], "properties": { "charge": { "minLength": 1 } }, "allOf": [absent("payment_intent")] },
                    ],
                    "description": "One of `payment_intent` or `charge`",
                })],
            )),
            answer: "refund",
            errors: PROCESSOR_REFERS,
        },
        Op {
            method: "get",
            path: "/v1/refunds",
            id: "GetRefunds",
            summary: "List refunds, newest first",
            parameters: vec![
                query("payment_intent", opt(string()), "Only this PaymentIntent's"),
                query("charge", opt(string()), "Only this Charge's (when `payment_intent` is not given)"),
                limit(),
                cursor("starting_after", "Refund"),
                cursor("ending_before", "Refund"),
                expand_query(&[]),
            ],
            body: None,
            answer: "refund_list",
            errors: REFERS,
        },
        Op {
            method: "get",
            path: "/v1/refunds/{id}",
            id: "GetRefundsId",
            summary: "Retrieve a refund",
            parameters: vec![id_parameter("Refund"), expand_query(&[])],
            body: None,
            answer: "refund",
            errors: &[],
        },
        Op {
            method: "get",
            path: "/v1/charges",
            id: "GetCharges",
            summary: "List charges (each attempt to pay), newest first",
            parameters: vec![
                query("payment_intent", opt(string()), "Only this PaymentIntent's"),
                query("customer", opt(string()), "Only this customer's"),
                limit(),
                cursor("starting_after", "Charge"),
                cursor("ending_before", "Charge"),
                expand_query(&["data.customer"]),
            ],
            body: None,
            answer: "charge_list",
            errors: REFERS,
        },
        Op {
            method: "get",
            path: "/v1/charges/{id}",
            id: "GetChargesId",
            summary: "Retrieve a charge",
            parameters: vec![id_parameter("Charge"), expand_query(&["customer"])],
            body: None,
            answer: "charge",
            errors: &[],
        },
        Op {
            method: "post",
            path: "/v1/setup_intents",
            id: "PostSetupIntents",
            summary: "Create a SetupIntent to save a customer's card, and with `confirm=true` save it in the same call",
            parameters: vec![],
            body: Some(form(
                json!({
                    "customer": { "type": "string", "minLength": 1, "description": "The customer's id (`cus_…`)" },
                    "payment_method": payment_method(),
                    "payment_method_data": payment_method_data(),
                    "payment_method_types": card_types(),
                    "confirm": opt(boolean()),
                    "usage": opt(choice(&["off_session", "on_session"])),
                    "metadata": metadata(),
                    "return_url": opt(json!({ "type": "string", "description": "Taken, and not used: saving a card here takes no challenge" })),
                    "expand": expand(&[]),
                }),
                &["customer"],
                vec![
                    json!({
                        "anyOf": [
                            { "properties": { "confirm": { "const": false } } },
                            { "required": ["payment_method"], "properties": { "payment_method": { "minLength": 1 } } },
                            { "required": ["payment_method_data"], "properties": { "payment_method_data": { "type": "object" } } },
                        ],
                        "description": "Confirming takes a payment method",
                    }),
                    confirming_only(&["payment_method", "payment_method_data", "return_url"]),
                ],
            )),
            answer: "setup_intent",
            errors: PROCESSOR_REFERS,
        },
        Op {
            method: "get",
            path: "/v1/setup_intents/{id}",
            id: "GetSetupIntentsId",
            summary: "Retrieve a SetupIntent",
            parameters: vec![
                id_parameter("SetupIntent"),
                query("client_secret", opt(string()), "Taken for Stripe's clients"),
                expand_query(&[]),
            ],
            body: None,
            answer: "setup_intent",
            errors: &[],
        },
        Op {
            method: "post",
            path: "/v1/setup_intents/{id}/confirm",
            id: "PostSetupIntentsIdConfirm",
            summary: "Confirm a SetupIntent: the card is saved to its customer",
            parameters: vec![id_parameter("SetupIntent")],
            body: Some(form(
                json!({
                    "payment_method": payment_method(),
                    "payment_method_data": payment_method_data(),
                    "return_url": opt(json!({ "type": "string", "description": "Taken, and not used: saving a card here takes no challenge" })),
                    "expand": expand(&[]),
                }),
                &[],
                vec![pays],
            )),
            answer: "setup_intent",
            errors: PROCESSOR_REFERS,
        },
        Op {
            method: "post",
            path: "/v1/webhook_endpoints",
            id: "PostWebhookEndpoints",
            summary: "Create a webhook endpoint whose deliveries are Stripe's events, signed with `Stripe-Signature` (admin keys only)",
            parameters: vec![],
            body: Some(form(
                json!({
                    "url": { "type": "string", "minLength": 1, "maxLength": 2048, "pattern": "^[hH][tT][tT][pP][sS]?://[^/?#\\s]+", "description": "An http or https address outside private networks and special-use ranges" },
                    "enabled_events": {
                        "type": "array",
                        "minItems": 1,
                        "items": { "type": "string", "enum": event_types(true) },
                        "description": "`*` for all, or some of the event types Kassa sends",
                    },
                    "api_version": opt(json!({ "type": "string", "description": "Taken, and not used: the events are written in the face's version" })),
                    "expand": expand(&[]),
                }),
                &["url", "enabled_events"],
                vec![],
            )),
            answer: "webhook_endpoint",
            errors: &[],
        },
        Op {
            method: "get",
            path: "/v1/webhook_endpoints",
            id: "GetWebhookEndpoints",
            summary: "List webhook endpoints, newest first (admin keys only)",
            parameters: vec![limit(), cursor("starting_after", "webhook endpoint"), cursor("ending_before", "webhook endpoint")],
            body: None,
            answer: "webhook_endpoint_list",
            errors: &[],
        },
        Op {
            method: "get",
            path: "/v1/webhook_endpoints/{id}",
            id: "GetWebhookEndpointsId",
            summary: "Retrieve a webhook endpoint (admin keys only)",
            parameters: vec![id_parameter("webhook endpoint"), expand_query(&[])],
            body: None,
            answer: "webhook_endpoint",
            errors: &[],
        },
        Op {
            method: "delete",
            path: "/v1/webhook_endpoints/{id}",
            id: "DeleteWebhookEndpointsId",
            summary: "Delete a webhook endpoint (admin keys only)",
            parameters: vec![id_parameter("webhook endpoint")],
            body: None,
            answer: "deleted_webhook_endpoint",
            errors: &[],
        },
        Op {
            method: "get",
            path: "/v1/events",
            id: "GetEvents",
            summary: "List events, newest first (admin keys only)",
            parameters: vec![
                query("type", opt(string()), "Only events of this type (a type Kassa does not send lists nothing)"),
                limit(),
                cursor("starting_after", "event"),
                created(),
            ],
            body: None,
            answer: "event_list",
            errors: &[],
        },
        Op {
            method: "get",
            path: "/v1/events/{id}",
            id: "GetEventsId",
            summary: "Retrieve an event (admin keys only)",
            parameters: vec![id_parameter("event"), expand_query(&[])],
            body: None,
            answer: "event",
            errors: &[],
        },
    ]
}

fn customer_fields() -> Value {
    json!({
        "email": opt(json!({ "type": "string", "maxLength": MAX_TEXT, "pattern": "@" })),
        "name": opt(text()),
        "metadata": metadata(),
        "expand": expand(&[]),
    })
}

fn currencies() -> Vec<String> {
    kassa::Currency::ALL.iter().flat_map(|c| [c.code().to_ascii_lowercase(), c.code().to_owned()]).collect()
}

fn event_types(all: bool) -> Vec<&'static str> {
    let mut types = if all { vec!["*"] } else { vec![] };
    types.extend_from_slice(STRIPE_EVENT_TYPES);
    types
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in operations() {
        let mut operation = json!({
            "operationId": op.id,
            "summary": op.summary,
            "parameters": op.parameters,
            "responses": responses(&op),
        });
        let item = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        let parameters = operation["parameters"].as_array_mut().expect("a list");
        parameters.push(json!({ "$ref": "#/components/parameters/StripeVersion" }));
        if op.method == "post" {
            parameters.push(json!({ "$ref": "#/components/parameters/IdempotencyKey" }));
        }
        if let Some(mut body) = op.body {
            if let Some(example) = example(op.id) {
                body["content"]["application/x-www-form-urlencoded"]["example"] = example;
            }
            operation["requestBody"] = body;
        }
        item[op.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Kassa's Stripe-compatible API",
            "version": super::DEFAULT_VERSION,
            "description": DESCRIPTION,
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }, { "basic": [] }],
        "paths": paths,
        "components": components(),
    })
}

const DESCRIPTION: &str = "Stripe's API at `/v1/`, for code written for Stripe: the official `stripe` libraries work against Kassa by changing their API base. What this document describes is what Kassa takes and answers; a parameter of Stripe's that Kassa does not keep is refused by name (`parameter_unknown`), not dropped.

Authenticate with the account's API key as an HTTP Bearer token (`Authorization: Bearer sk_test_…`), or as the user of HTTP Basic. Parameters are `application/x-www-form-urlencoded`, in the body of a POST and the query of a GET, with nested keys in brackets (`metadata[order]=6735`, `card[exp_month]=12`, `expand[0]=customer`); an empty value (`description=`) reads as the parameter not given.

Every POST runs under an idempotency key: the `Idempotency-Key` header, or one made for it. A retry under the same key replays the first answer (`Idempotent-Replayed: true`); the same key with another request is `400 idempotency_error`; a retry while the first still runs is `409`. Every answer carries `Request-Id`, and `Stripe-Version`: the request's, or this document's version. Errors are Stripe's: `{\"error\": {\"type\", \"code\", \"decline_code\", \"param\", \"message\"}}`, with `Stripe-Should-Retry` where it is known.";

fn responses(op: &Op) -> Value {
    let mut responses = Map::new();
    let mut ok = json!({
        "description": format!("The {}", op.answer.replace('_', " ")),
        "headers": common_headers(),
        "content": { "application/json": { "schema": reference(op.answer) } },
    });
    if op.method == "post" {
        ok["headers"]["Idempotent-Replayed"] = json!({ "$ref": "#/components/headers/IdempotentReplayed" });
    }
    let links = links(op.id);
    if !links.is_empty() {
        ok["links"] = Value::Object(links);
    }
    responses.insert("200".into(), ok);
    for status in statuses(op) {
        responses.insert(status.to_string(), json!({ "$ref": format!("#/components/responses/Error{status}") }));
    }
    Value::Object(responses)
}

/// A body as a shop would send it, for readers and for Schemathesis's examples phase.
fn example(operation: &str) -> Option<Value> {
    let (year, _) = crate::clock::year_month();
    let card = json!({ "number": "4242424242424242", "exp_month": 12, "exp_year": year + 3, "cvc": "123" });
    Some(match operation {
        "PostPaymentIntents" => json!({
            "amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": true,
            "metadata": { "order": "6735" }, "description": "Tea for two", "expand": ["latest_charge"],
        }),
        "PostPaymentIntentsId" => json!({ "amount": 1500, "metadata": { "cart": "2" }, "description": "Cart 2" }),
        "PostPaymentIntentsIdConfirm" => json!({ "payment_method": "pm_card_visa", "return_url": "https://shop.example/done" }),
        "PostPaymentIntentsIdCapture" => json!({ "amount_to_capture": 1500 }),
        "PostPaymentIntentsIdCancel" => json!({ "cancellation_reason": "requested_by_customer" }),
        "PostPaymentMethods" => json!({ "type": "card", "card": card }),
        "PostPaymentMethodsIdAttach" => json!({ "customer": "cus_0VccSp0jHGhB57Lnx2T9u2oM" }),
        "PostCustomers" | "PostCustomersId" => json!({ "email": "ada@shop.example", "name": "Ada", "metadata": { "tier": "gold" } }),
        "PostRefunds" => json!({ "payment_intent": "pi_0VccSp12Xs1RzxGPP0l0zRiZ", "amount": 500, "reason": "requested_by_customer" }),
        "PostSetupIntents" => json!({ "customer": "cus_0VccSp0jHGhB57Lnx2T9u2oM", "payment_method": "pm_card_visa", "confirm": true }),
        "PostSetupIntentsIdConfirm" => json!({ "payment_method": "pm_card_visa" }),
        "PostWebhookEndpoints" => {
            json!({ "url": "https://shop.example/hooks/stripe", "enabled_events": ["payment_intent.succeeded", "charge.refunded"] })
        }
        _ => return None,
    })
}

/// Where an answer's ids lead: the operations that take them, for Schemathesis's stateful phase and
/// for readers.
fn links(operation: &str) -> Map<String, Value> {
    let by_id = |target: &str| (target.to_owned(), json!({ "operationId": target, "parameters": { "path.id": "$response.body#/id" } }));
    let in_body = |target: &str, field: &str| {
        (format!("{target}With{field}"), json!({ "operationId": target, "requestBody": { field: "$response.body#/id" } }))
    };
    let intent = || {
        vec![
            by_id("GetPaymentIntentsId"),
            by_id("PostPaymentIntentsId"),
            by_id("PostPaymentIntentsIdConfirm"),
            by_id("PostPaymentIntentsIdCapture"),
            by_id("PostPaymentIntentsIdCancel"),
            in_body("PostRefunds", "payment_intent"),
            (
                "GetRefunds".to_owned(),
                json!({ "operationId": "GetRefunds", "parameters": { "query.payment_intent": "$response.body#/id" } }),
            ),
            (
                "GetChargesId".to_owned(),
                json!({ "operationId": "GetChargesId", "parameters": { "path.id": "$response.body#/latest_charge" } }),
            ),
        ]
    };
    let links = match operation {
        "PostPaymentIntents" | "PostPaymentIntentsIdConfirm" | "PostPaymentIntentsIdCapture" => intent(),
        "PostCustomers" => vec![
            by_id("GetCustomersId"),
            by_id("PostCustomersId"),
            by_id("DeleteCustomersId"),
            by_id("GetCustomersIdPaymentMethods"),
            in_body("PostSetupIntents", "customer"),
        ],
        "PostPaymentMethods" => {
            vec![by_id("GetPaymentMethodsId"), by_id("PostPaymentMethodsIdAttach"), by_id("PostPaymentMethodsIdDetach")]
        }
        "PostPaymentMethodsIdAttach" => vec![by_id("PostPaymentMethodsIdDetach"), by_id("GetPaymentMethodsId")],
        "PostSetupIntents" => vec![by_id("GetSetupIntentsId"), by_id("PostSetupIntentsIdConfirm")],
        "PostRefunds" => vec![by_id("GetRefundsId")],
        "PostWebhookEndpoints" => vec![by_id("GetWebhookEndpointsId"), by_id("DeleteWebhookEndpointsId")],
        _ => vec![],
    };
    links.into_iter().collect()
}

fn common_headers() -> Value {
    json!({
        "Request-Id": { "$ref": "#/components/headers/RequestId" },
        "Stripe-Version": { "$ref": "#/components/headers/StripeVersion" },
    })
}

fn components() -> Value {
    let mut responses = Map::new();
    for (status, description) in ERRORS {
        let mut headers = common_headers();
        headers["Stripe-Should-Retry"] = json!({ "$ref": "#/components/headers/StripeShouldRetry" });
        if *status == 429 {
            headers["Retry-After"] =
                json!({ "description": "Seconds to wait", "required": true, "schema": { "type": "integer", "minimum": 0 } });
        }
        responses.insert(
            format!("Error{status}"),
            json!({
                "description": description,
                "headers": headers,
                "content": { "application/json": { "schema": reference("error") } },
            }),
        );
    }
    json!({
        "securitySchemes": {
            "bearer": { "type": "http", "scheme": "bearer", "description": "The API key as the token: `Authorization: Bearer sk_test_…`" },
            "basic": { "type": "http", "scheme": "basic", "description": "The API key as the user, with no password" },
        },
        "parameters": {
            "IdempotencyKey": {
                "name": "Idempotency-Key",
                "in": "header",
                "required": false,
                "description": "Makes the request safe to retry: a retry under the same key replays the first answer. One is made for a request that sends none",
                // HTTP drops the white space around a header's value: what is left is the key.
                "schema": { "type": "string", "pattern": format!("^[\\t ]*[!-~](?:[\\t -~]{{0,{}}}[!-~])?[\\t ]*$", kassa::api::IDEMPOTENCY_KEY_MAX_LEN - 2) },
            },
            "StripeVersion": {
                "name": "Stripe-Version",
                "in": "header",
                "required": false,
                "description": "The API version the client speaks; answered back in `Stripe-Version`",
                "schema": { "type": "string" },
            },
        },
        "headers": {
            "RequestId": { "description": "This request's id", "required": true, "schema": { "type": "string", "pattern": "^req_" } },
            "StripeVersion": { "description": "The request's `Stripe-Version`, or this document's version", "required": true, "schema": { "type": "string" } },
            "IdempotentReplayed": { "description": "`true` on an answer replayed for a retry", "schema": { "type": "string", "enum": ["true", "false"] } },
            "StripeShouldRetry": { "description": "Whether sending the request again (under the same key) may succeed", "schema": { "type": "string", "enum": ["true", "false"] } },
        },
        "responses": responses,
        "schemas": schemas(),
    })
}

fn nullable(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "null" }] })
}

fn int() -> Value {
    json!({ "type": "integer" })
}

fn none() -> Value {
    json!({ "type": "null" })
}

fn id(prefix: &str) -> Value {
    json!({ "type": "string", "pattern": format!("^{prefix}") })
}

/// An object whose every field is always there, and nothing else.
fn object(name: &str, properties: Value) -> Value {
    let required: Vec<&String> = properties.as_object().expect("properties").keys().collect();
    json!({
        "type": "object",
        "required": required,
        "additionalProperties": false,
        "properties": properties,
        "x-stripeResource": name,
    })
}

fn strings_map() -> Value {
    json!({ "type": "object", "additionalProperties": { "type": "string" } })
}

fn list(item: &str) -> Value {
    object(
        "list",
        json!({
            "object": { "const": "list" },
            "data": { "type": "array", "items": reference(item) },
            "has_more": boolean(),
            "url": { "type": "string", "pattern": "^/v1/" },
        }),
    )
}

/// An id, or the object itself where it was expanded.
fn expandable(object: &str) -> Value {
    json!({ "anyOf": [{ "type": ["string", "null"] }, reference(object)] })
}

fn schemas() -> Value {
    let card = object(
        "card",
        json!({
            "brand": { "type": "string" },
            "last4": nullable(json!({ "type": "string", "pattern": "^[0-9]{4}$" })),
            "exp_month": nullable(int()),
            "exp_year": nullable(int()),
            "fingerprint": nullable(json!({ "type": "string" })),
            "funding": { "const": "unknown" },
            "country": none(),
            "checks": object("checks", json!({ "address_line1_check": none(), "address_postal_code_check": none(), "cvc_check": none() })),
            "networks": object("networks", json!({ "available": { "type": "array", "items": { "type": "string" } }, "preferred": none() })),
            "three_d_secure_usage": object("three_d_secure_usage", json!({ "supported": boolean() })),
            "wallet": none(),
        }),
    );
    let address = object(
        "address",
        json!({ "city": none(), "country": none(), "line1": none(), "line2": none(), "postal_code": none(), "state": none() }),
    );
    let billing = object("billing_details", json!({ "address": address, "email": none(), "name": none(), "phone": none() }));
    let intent_statuses = ["requires_payment_method", "requires_action", "processing", "requires_capture", "canceled", "succeeded"];
    let decline = |extra: Value| {
        let mut properties = json!({
            "type": choice(&["api_error", "card_error", "idempotency_error", "invalid_request_error"]),
            "code": { "type": "string" },
            "decline_code": { "type": "string" },
            "param": { "type": "string" },
            "message": { "type": "string" },
        });
        properties.as_object_mut().expect("an object").extend(extra.as_object().expect("an object").clone());
        json!({ "type": "object", "required": ["type", "message"], "additionalProperties": false, "properties": properties })
    };
    json!({
        "error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": false,
            "properties": { "error": decline(json!({ "payment_intent": reference("payment_intent") })) },
        },
        "payment_intent": object("payment_intent", json!({
            "id": id("pi_"),
            "object": { "const": "payment_intent" },
            "amount": int(),
            "amount_capturable": int(),
            "amount_received": int(),
            "amount_details": object("amount_details", json!({ "tip": { "type": "object", "additionalProperties": false, "properties": { "amount": int() } } })),
            "application": none(),
            "canceled_at": nullable(int()),
            "cancellation_reason": nullable(choice(&["abandoned", "requested_by_customer"])),
            "capture_method": choice(&["automatic", "manual"]),
            "client_secret": nullable(json!({ "type": "string" })),
            "confirmation_method": { "const": "automatic" },
            "created": int(),
            "currency": { "type": "string", "pattern": "^[a-z]{3}$" },
            "customer": expandable("customer"),
            "description": nullable(json!({ "type": "string" })),
            "last_payment_error": nullable(decline(json!({
                "payment_method": object("payment_method", json!({ "id": id("pm_"), "object": { "const": "payment_method" }, "type": { "const": "card" } })),
            }))),
            "latest_charge": expandable("charge"),
            "livemode": { "const": false },
            "metadata": strings_map(),
            "next_action": nullable(object("next_action", json!({
                "type": { "const": "redirect_to_url" },
                "redirect_to_url": object("redirect_to_url", json!({ "url": { "type": "string" }, "return_url": nullable(json!({ "type": "string" })) })),
            }))),
            "payment_method": expandable("payment_method"),
            "payment_method_types": { "type": "array", "items": { "const": "card" } },
            "receipt_email": none(),
            "setup_future_usage": nullable(json!({ "const": "off_session" })),
            "statement_descriptor": none(),
            "status": choice(&intent_statuses),
        })),
        "payment_method": object("payment_method", json!({
            "id": id("pm_"),
            "object": { "const": "payment_method" },
            "type": { "const": "card" },
            "card": card.clone(),
            "billing_details": billing.clone(),
            "customer": nullable(id("cus_")),
            "created": int(),
            "livemode": { "const": false },
            "metadata": strings_map(),
            "allow_redisplay": { "const": "unspecified" },
        })),
        "customer": object("customer", json!({
            "id": id("cus_"),
            "object": { "const": "customer" },
            "address": none(),
            "balance": { "const": 0 },
            "created": int(),
            "currency": none(),
            "default_source": none(),
            "delinquent": { "const": false },
            "description": none(),
            "email": nullable(json!({ "type": "string" })),
            "invoice_prefix": none(),
            "invoice_settings": object("invoice_settings", json!({ "custom_fields": none(), "default_payment_method": none(), "footer": none(), "rendering_options": none() })),
            "livemode": { "const": false },
            "metadata": strings_map(),
            "name": nullable(json!({ "type": "string" })),
            "phone": none(),
            "preferred_locales": { "type": "array", "maxItems": 0 },
            "shipping": none(),
            "tax_exempt": { "const": "none" },
        })),
        "deleted_customer": object("deleted_customer", json!({ "id": { "type": "string" }, "object": { "const": "customer" }, "deleted": { "const": true } })),
        "charge": object("charge", json!({
            "id": id("ch_"),
            "object": { "const": "charge" },
            "amount": int(),
            "amount_captured": int(),
            "amount_refunded": int(),
            "balance_transaction": none(),
            "billing_details": billing,
            "captured": boolean(),
            "created": int(),
            "currency": { "type": "string", "pattern": "^[a-z]{3}$" },
            "customer": expandable("customer"),
            "description": nullable(json!({ "type": "string" })),
            "disputed": { "const": false },
            "failure_code": nullable(json!({ "type": "string" })),
            "failure_message": nullable(json!({ "type": "string" })),
            "livemode": { "const": false },
            "metadata": strings_map(),
            "outcome": object("outcome", json!({
                "network_status": choice(&["approved_by_network", "declined_by_network", "not_sent_to_network"]),
                "reason": nullable(json!({ "type": "string" })),
                "seller_message": { "type": "string" },
                "type": choice(&["authorized", "issuer_declined", "invalid"]),
            })),
            "paid": boolean(),
            "payment_intent": id("pi_"),
            "payment_method": nullable(id("pm_")),
            "payment_method_details": object("payment_method_details", json!({ "type": { "const": "card" }, "card": card })),
            "receipt_url": none(),
            "refunded": boolean(),
            "status": choice(&["succeeded", "pending", "failed"]),
        })),
        "refund": object("refund", json!({
            "id": id("re_"),
            "object": { "const": "refund" },
            "amount": int(),
            "balance_transaction": none(),
            "charge": nullable(id("ch_")),
            "created": int(),
            "currency": nullable(json!({ "type": "string", "pattern": "^[a-z]{3}$" })),
            "failure_reason": nullable(json!({ "const": "unknown" })),
            "metadata": { "type": "object", "maxProperties": 0 },
            "payment_intent": id("pi_"),
            "reason": nullable(choice(&["duplicate", "fraudulent", "requested_by_customer"])),
            "receipt_number": none(),
            "status": choice(&["succeeded", "pending", "failed", "canceled"]),
        })),
        "setup_intent": object("setup_intent", json!({
            "id": id("seti_"),
            "object": { "const": "setup_intent" },
            "cancellation_reason": none(),
            "client_secret": none(),
            "created": int(),
            "customer": id("cus_"),
            "description": none(),
            "last_setup_error": none(),
            "livemode": { "const": false },
            "metadata": strings_map(),
            "next_action": none(),
            "payment_method": nullable(id("pm_")),
            "payment_method_types": { "type": "array", "items": { "const": "card" } },
            "status": choice(&["requires_payment_method", "succeeded", "canceled"]),
            "usage": choice(&["off_session", "on_session"]),
        })),
        "webhook_endpoint": object("webhook_endpoint", json!({
            "id": id("we_"),
            "object": { "const": "webhook_endpoint" },
            "api_version": none(),
            "application": none(),
            "created": int(),
            "description": none(),
            "enabled_events": { "type": "array", "items": { "type": "string" } },
            "livemode": { "const": false },
            "metadata": { "type": "object", "maxProperties": 0 },
            "secret": nullable(json!({ "type": "string", "description": "The signing secret: in the answer that creates the endpoint, and nowhere else" })),
            "status": choice(&["enabled", "disabled"]),
            "url": { "type": "string" },
        })),
        "deleted_webhook_endpoint": object("deleted_webhook_endpoint", json!({ "id": { "type": "string" }, "object": { "const": "webhook_endpoint" }, "deleted": { "const": true } })),
        "event": object("event", json!({
            "id": id("evt_"),
            "object": { "const": "event" },
            "api_version": { "type": "string" },
            "created": int(),
            "data": object("data", json!({ "object": { "anyOf": [reference("event_payment_intent"), reference("event_charge")] } })),
            "livemode": { "const": false },
            "pending_webhooks": int(),
            "request": object("request", json!({ "id": none(), "idempotency_key": none() })),
            "type": choice(&event_types(false)),
        })),
        // An event's object as it was when the event happened, from the event alone.
        "event_payment_intent": object("payment_intent", json!({
            "id": id("pi_"),
            "object": { "const": "payment_intent" },
            "amount": int(),
            "amount_capturable": int(),
            "amount_received": int(),
            "capture_method": choice(&["automatic", "manual"]),
            "client_secret": none(),
            "created": int(),
            "currency": { "type": "string", "pattern": "^[a-z]{3}$" },
            "customer": nullable(json!({ "type": "string" })),
            "description": nullable(json!({ "type": "string" })),
            "last_payment_error": nullable(json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["type", "code", "decline_code", "message"],
                "properties": {
                    "type": { "const": "card_error" },
                    "code": { "type": "string" },
                    "decline_code": nullable(json!({ "type": "string" })),
                    "message": { "type": "string" },
                },
            })),
            "latest_charge": nullable(id("ch_")),
            "livemode": { "const": false },
            "metadata": strings_map(),
            "next_action": nullable(object("next_action", json!({
                "type": { "const": "redirect_to_url" },
                "redirect_to_url": object("redirect_to_url", json!({ "url": { "type": "string" }, "return_url": none() })),
            }))),
            "payment_method_types": { "type": "array", "items": { "const": "card" } },
            "status": choice(&intent_statuses),
        })),
        "event_charge": object("charge", json!({
            "id": nullable(id("ch_")),
            "object": { "const": "charge" },
            "amount": int(),
            "amount_captured": int(),
            "amount_refunded": int(),
            "captured": boolean(),
            "created": int(),
            "currency": { "type": "string", "pattern": "^[a-z]{3}$" },
            "customer": nullable(json!({ "type": "string" })),
            "livemode": { "const": false },
            "metadata": strings_map(),
            "paid": boolean(),
            "payment_intent": id("pi_"),
            "refunded": boolean(),
            "status": { "const": "succeeded" },
        })),
        "payment_intent_list": list("payment_intent"),
        "payment_method_list": list("payment_method"),
        "customer_list": list("customer"),
        "refund_list": list("refund"),
        "charge_list": list("charge"),
        "webhook_endpoint_list": list("webhook_endpoint"),
        "event_list": list("event"),
    })
}

/// Each operation of the document, as `(method, path)`.
pub fn documented() -> Vec<(String, String)> {
    operations().into_iter().map(|op| (op.method.to_uppercase(), op.path.to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_has_every_route_of_the_face_and_no_other() {
        let mut routes: Vec<(String, String)> = super::super::table().into_iter().map(|(m, p, _)| (m.to_string(), p.to_owned())).collect();
        let mut documented = documented();
        routes.sort();
        documented.sort();
        assert_eq!(documented, routes);
        let doc = document();
        let operations: usize = doc["paths"].as_object().unwrap().values().map(|item| item.as_object().unwrap().len()).sum();
        assert_eq!(operations, routes.len(), "one operation for each route");
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        fn walk(value: &Value, doc: &Value) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        let pointer = target.strip_prefix('#').expect("a local reference");
                        assert!(doc.pointer(pointer).is_some(), "{target} resolves");
                    }
                    map.values().for_each(|v| walk(v, doc));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, doc)),
                _ => {}
            }
        }
        walk(&doc, &doc);
        let ids: Vec<&str> = operations().iter().map(|op| op.id).collect();
        for op in operations() {
            for (name, link) in links(op.id) {
                assert!(ids.contains(&link["operationId"].as_str().unwrap()), "{} links to {name}", op.id);
            }
        }
    }
}
