//! `/v1/payment_intents`: create (and confirm in the same call), retrieve, update, confirm,
//! capture, cancel and list — each one call of `crate::payments`.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kassa::api::{CaptureMethod, CaptureRequest, ConfirmIntentRequest, CreateIntentRequest, KeyKind, Permission, UpdateIntentRequest};
use kassa::id::{CustomerId, PaymentIntentId};
use kassa::Currency;

use super::form::{invalid, Params};
use super::objects::{self, View};
use super::payment_methods::{self, Paying};
use super::{rendered, saved_answer, step_key, FaceRequest, FaceResult};
use crate::error::{ApiError, ApiResult};
use crate::http::context::RequestCtx;
use crate::payments;
use crate::state::AppState;
use crate::store::intents::{self, IntentQuery, IntentRecord};

impl<S: Send + Sync> FromRequestParts<S> for FaceRequest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<FaceRequest>().cloned().ok_or_else(|| ApiError::internal("the Stripe face's request was not read"))
    }
}

/// A path's intent id; anything else is Stripe's `resource_missing`.
pub fn intent_id(id: &str) -> ApiResult<PaymentIntentId> {
    id.parse().map_err(|_| missing_intent(id))
}

fn missing_intent(id: &str) -> ApiError {
    super::form::no_such("payment_intent", id, "intent")
}

pub async fn load(view: &View<'_>, id: &str) -> ApiResult<IntentRecord> {
    intents::find(&view.state.store, view.merchant, &intent_id(id)?).await?.ok_or_else(|| missing_intent(id))
}

const CREATE: &[&str] = &[
    "amount",
    "currency",
    "capture_method",
    "confirm",
    "confirmation_method",
    "payment_method",
    "payment_method_data",
    "payment_method_types",
    "automatic_payment_methods",
    "customer",
    "setup_future_usage",
    "off_session",
    "return_url",
    "metadata",
    "description",
    "expand",
];

/// What confirming takes, on create (`confirm=true`) or on its own.
const CONFIRM: &[&str] = &[
    "payment_method",
    "payment_method_data",
    "setup_future_usage",
    "off_session",
    "return_url",
    "client_secret",
    "expand",
    "payment_method_types",
];

fn currency(p: &Params) -> ApiResult<Currency> {
    let code = p.required_text("currency")?;
    code.parse().map_err(|_| invalid("currency", "parameter_invalid_string", format!("Invalid currency: {code}")))
}

fn capture_method(p: &Params) -> ApiResult<CaptureMethod> {
    Ok(match p.choice("capture_method", &["automatic", "automatic_async", "manual"])?.as_deref() {
        Some("manual") => CaptureMethod::Manual,
        _ => CaptureMethod::Automatic,
    })
}

/// Only cards: `payment_method_types[]=card`, or automatic payment methods (which are cards here).
fn check_types(p: &Params) -> ApiResult<()> {
    let types = p.strings("payment_method_types")?;
    if types.iter().any(|t| t != "card") {
        return Err(invalid(
            "payment_method_types",
            "payment_method_type_unavailable",
            "Kassa takes cards only: payment_method_types must be [card]",
        ));
    }
    if let Some(setup) = p.text("setup_future_usage")? {
        if !matches!(setup.as_str(), "on_session" | "off_session") {
            return Err(invalid("setup_future_usage", "parameter_invalid_string", "setup_future_usage must be on_session or off_session"));
        }
    }
    // `off_session` is true/false or, as Stripe also takes it, `one_off` / `recurring`.
    if let Some(off) = p.text("off_session")? {
        if !matches!(off.as_str(), "true" | "false" | "one_off" | "recurring") {
            return Err(invalid("off_session", "parameter_invalid_boolean", "off_session must be true or false"));
        }
    }
    Ok(())
}

/// The confirmation a request asks for, with what pays.
async fn confirmation(state: &AppState, r: &RequestCtx, p: &Params) -> ApiResult<ConfirmIntentRequest> {
    let paying = payment_methods::paying(state, r, p).await?.ok_or_else(|| {
        invalid(
            "payment_method",
            "payment_intent_unexpected_state",
            "You cannot confirm this PaymentIntent because it's missing a payment method: pass `payment_method`.",
        )
    })?;
    let (token, payment_method_id) = match paying {
        Paying::Token(token) => (Some(token), None),
        Paying::Saved(method) => (None, Some(method)),
    };
    Ok(ConfirmIntentRequest {
        client_secret: p.text("client_secret")?,
        card: None,
        token,
        payment_method_id,
        save_card: p.text("setup_future_usage")?.is_some(),
        return_url: p.text("return_url")?,
        tip_cents: None,
        frame_ancestors: Vec::new(),
        client_request_id: None,
    })
}

pub async fn create(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    r.caller.require(Permission::TransactionsCreate)?;
    let p = &f.params;
    p.only(CREATE)?;
    p.only_confirming(&["payment_method", "payment_method_data", "setup_future_usage", "off_session", "return_url"])?;
    check_types(p)?;
    // Taken for Stripe's clients: Kassa's intents are confirmed either way, with cards.
    p.choice("confirmation_method", &["automatic", "manual"])?;
    if let Some(automatic) = p.nested("automatic_payment_methods")? {
        automatic.only(&["enabled", "allow_redirects"])?;
        automatic.boolean("enabled")?.ok_or_else(|| super::form::missing("automatic_payment_methods[enabled]"))?;
        automatic.choice("allow_redirects", &["always", "never"])?;
    }
    let customer_id =
        p.text("customer")?.map(|c| c.parse::<CustomerId>().map_err(|_| super::form::no_such("customer", &c, "customer"))).transpose()?;
    let amount = p.required_integer("amount")?;
    let req = CreateIntentRequest {
        amount_cents: amount.into(),
        currency: currency(p)?,
        capture_method: capture_method(p)?,
        order_id: None,
        reference: p.text("description")?,
        customer_id,
        location_id: None,
        line_items: Vec::new(),
        metadata: p.metadata()?.unwrap_or_default(),
        client_request_id: None,
    };
    if !p.boolean("confirm")?.unwrap_or(false) {
        return Ok(payments::create_intent(r.ctx(&state), req).await?.into_response());
    }
    // Create, then confirm: two changes, the first under a key of its own, so that a retry after
    // the first finds its intent instead of making another. What the confirmation would refuse
    // is refused before anything is made.
    if p.text("setup_future_usage")?.is_some() && req.customer_id.is_none() {
        return Err(invalid(
            "setup_future_usage",
            "parameter_missing",
            "setup_future_usage saves the card to a customer: pass `customer` too",
        ));
    }
    let confirm = confirmation(&state, &r, p).await?;
    let create_key = r.key.as_ref().map(|k| step_key(k, "create"));
    let created = match saved_answer(&state, create_key.as_ref()).await? {
        Some(created) => created,
        None => payments::create_intent(payments::Ctx { key: create_key.as_ref(), ..r.ctx(&state) }, req).await?,
    };
    let id = intent_id(super::answer_data(&created)["id"].as_str().unwrap_or_default())?;
    Ok(payments::confirm(r.ctx(&state), id, confirm, false, None, None).await?.into_response())
}

pub async fn retrieve(
    State(state): State<AppState>,
    r: RequestCtx,
    f: FaceRequest,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> FaceResult {
    f.params.only(&["client_secret", "expand"])?;
    f.params.text("client_secret")?;
    let view = View::of(&state, &r.caller, &f.expand);
    let intent = if r.caller.kind == KeyKind::Publishable {
        // A publishable key sees an intent with its client secret, as Stripe.js does.
        let secret = f.params.text("client_secret")?;
        payments::intent_for_client(&r.ctx(&state), &intent_id(&id)?, secret.as_deref()).await.map_err(|_| missing_intent(&id))?
    } else {
        r.caller.require(Permission::TransactionsView)?;
        load(&view, &id).await?
    };
    let mut object = objects::payment_intent(&view, &intent, None).await?;
    if r.caller.kind == KeyKind::Publishable {
        object["client_secret"] = f.params.text("client_secret")?.into();
    }
    Ok(rendered(StatusCode::OK, object))
}

pub async fn update(
    State(state): State<AppState>,
    r: RequestCtx,
    f: FaceRequest,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> FaceResult {
    r.caller.require(Permission::TransactionsCreate)?;
    let p = &f.params;
    p.only(&["amount", "metadata", "description", "expand"])?;
    let id = intent_id(&id)?;
    let metadata = match p.metadata()? {
        None => None,
        Some(changes) => {
            let view = View::of(&state, &r.caller, &[]);
            Some(super::form::merge_metadata(load(&view, id.as_str()).await?.metadata, changes))
        }
    };
    let req = UpdateIntentRequest {
        amount_cents: p.integer("amount")?.map(Into::into),
        line_items: None,
        metadata,
        reference: p.has("description").then(|| p.text("description")).transpose()?.map(Option::unwrap_or_default),
        client_request_id: None,
    };
    Ok(payments::update_intent(r.ctx(&state), id, req).await?.into_response())
}

pub async fn confirm(
    State(state): State<AppState>,
    r: RequestCtx,
    f: FaceRequest,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> FaceResult {
    let publishable = r.caller.kind == KeyKind::Publishable;
    if !publishable {
        r.caller.require(Permission::TransactionsCreate)?;
    }
    r.limit_card_attempts(&state).await?;
    let p = &f.params;
    p.only(CONFIRM)?;
    check_types(p)?;
    let req = confirmation(&state, &r, p).await?;
    Ok(payments::confirm(r.ctx(&state), intent_id(&id)?, req, publishable, r.origin.clone(), None).await?.into_response())
}

pub async fn capture(
    State(state): State<AppState>,
    r: RequestCtx,
    f: FaceRequest,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> FaceResult {
    r.caller.require(Permission::TransactionsCreate)?;
    f.params.only(&["amount_to_capture", "expand"])?;
    let req = CaptureRequest {
        payment_intent_id: intent_id(&id)?,
        amount_cents: f.params.integer("amount_to_capture")?.map(Into::into),
        client_request_id: None,
    };
    // More than was authorized is Stripe's `amount_too_large`, a rule of the intent, not of the form.
    let captured = payments::capture(r.ctx(&state), req).await.map_err(|e| {
        let about_amount = e.details.as_ref().and_then(|d| d["field"].as_str()) == Some("amountCents");
        if e.code == kassa::ErrorCode::ValidationError && about_amount {
            invalid("amount_to_capture", "amount_too_large", e.message)
        } else {
            e
        }
    })?;
    Ok(captured.into_response())
}

pub async fn cancel(
    State(state): State<AppState>,
    r: RequestCtx,
    f: FaceRequest,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> FaceResult {
    r.caller.require(Permission::TransactionsVoid)?;
    f.params.only(&["cancellation_reason", "expand"])?;
    f.params.choice("cancellation_reason", &["duplicate", "fraudulent", "requested_by_customer", "abandoned"])?;
    Ok(payments::cancel(r.ctx(&state), intent_id(&id)?).await?.into_response())
}

pub async fn list(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    r.caller.require(Permission::TransactionsView)?;
    let p = &f.params;
    p.only(&["limit", "starting_after", "ending_before", "customer", "created", "expand"])?;
    let view = View::of(&state, &r.caller, &f.expand);
    let cursor = |name: &str| -> ApiResult<Option<PaymentIntentId>> {
        p.text(name)?
            .map(|id| id.parse().map_err(|_| invalid(name, "resource_missing", format!("No such payment_intent: '{id}'"))))
            .transpose()
    };
    let (date_from, date_to) = super::form::created_range(p)?;
    let query = IntentQuery {
        customer_id: p.text("customer")?,
        date_from,
        date_to,
        after: cursor("starting_after")?,
        before: cursor("ending_before")?,
        limit: super::form::limit(p)?,
        ..IntentQuery::default()
    };
    for id in query.after.iter().chain(query.before.iter()) {
        if !intents::exists(&state.store, view.merchant, id).await? {
            return Err(invalid("starting_after", "resource_missing", format!("No such payment_intent: '{id}'")));
        }
    }
    let (rows, has_more) = intents::list(&state.store, view.merchant, &query).await?;
    let mut data = Vec::with_capacity(rows.len());
    for intent in &rows {
        data.push(objects::payment_intent(&view, intent, None).await?);
    }
    Ok(rendered(StatusCode::OK, objects::list("/v1/payment_intents", data, has_more)))
}
