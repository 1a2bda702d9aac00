//! `/v1/setup_intents`: saving a customer's card without paying — one call each of
//! [`crate::customers::create_setup`] and [`crate::customers::confirm_setup`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kassa::api::{Permission, SetupIntent};
use kassa::id::{CustomerId, SetupIntentId};
use serde_json::{json, Value};

use super::form::{invalid, missing, Params};
use super::objects::{self, View};
use super::payment_methods::{self, Paying};
use super::{rendered, saved_answer, step_key, FaceRequest, FaceResult};
use crate::customers;
use crate::error::{ApiError, ApiResult};
use crate::http::context::RequestCtx;
use crate::state::AppState;

fn setup_id(id: &str) -> ApiResult<SetupIntentId> {
    id.parse().map_err(|_| no_such(id))
}

fn no_such(id: &str) -> ApiError {
    super::form::no_such("setupintent", id, "intent")
}

pub fn render(setup: &SetupIntent) -> Value {
    json!({
        "id": setup.id,
        "object": "setup_intent",
        "cancellation_reason": null,
        "client_secret": null,
        "created": objects::seconds_of(&setup.created_at),
        "customer": setup.customer_id,
        "description": null,
        "last_setup_error": null,
        "livemode": false,
        "metadata": setup.metadata,
        "next_action": null,
        "payment_method": setup.payment_method_id,
        "payment_method_types": ["card"],
        "status": setup.status,
        "usage": setup.usage,
    })
}

pub async fn render_answer(_view: &View<'_>, data: &Value) -> ApiResult<Value> {
    let setup: SetupIntent = serde_json::from_value(data.clone()).map_err(ApiError::internal)?;
    Ok(render(&setup))
}

/// The token a confirmation saves (a saved card cannot be set up again).
async fn token_of(state: &AppState, r: &RequestCtx, p: &Params) -> ApiResult<kassa::id::TokenId> {
    match payment_methods::paying(state, r, p).await? {
        Some(Paying::Token(token)) => Ok(token),
        Some(Paying::Saved(_)) => {
            Err(invalid("payment_method", "setup_intent_unexpected_state", "This PaymentMethod is already saved to a customer"))
        }
        None => Err(missing("payment_method")),
    }
}

pub async fn create(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    r.caller.require(Permission::MethodsManage)?;
    let p = &f.params;
    p.only(&[
        "customer",
        "payment_method",
        "payment_method_data",
        "payment_method_types",
        "confirm",
        "usage",
        "metadata",
        "expand",
        "return_url",
    ])?;
    p.only_confirming(&["payment_method", "payment_method_data", "return_url"])?;
    // Taken for Stripe's clients, and not used: saving a card here takes no challenge.
    p.text("return_url")?;
    if p.strings("payment_method_types")?.iter().any(|t| t != "card") {
        return Err(invalid("payment_method_types", "payment_method_type_unavailable", "Kassa takes cards only"));
    }
    let customer_text = p.text("customer")?.ok_or_else(|| missing("customer"))?;
    let customer: CustomerId = customer_text.parse().map_err(|_| super::form::no_such("customer", &customer_text, "customer"))?;
    let usage = p.choice("usage", &["off_session", "on_session"])?.unwrap_or_else(|| "off_session".into());
    let metadata = p.metadata()?.unwrap_or_default();
    if !p.boolean("confirm")?.unwrap_or(false) {
        return Ok(customers::create_setup(r.ctx(&state), &customer, &usage, metadata).await?.into_response());
    }
    // Create, then confirm, the first step under a key of its own (see `payment_intents::create`).
    let token = token_of(&state, &r, p).await?;
    let create_key = r.key.as_ref().map(|k| step_key(k, "create"));
    let created = match saved_answer(&state, create_key.as_ref()).await? {
        Some(created) => created,
        None => {
            customers::create_setup(crate::payments::Ctx { key: create_key.as_ref(), ..r.ctx(&state) }, &customer, &usage, metadata).await?
        }
    };
    let id = setup_id(super::answer_data(&created)["id"].as_str().unwrap_or_default())?;
    Ok(customers::confirm_setup(r.ctx(&state), &id, &token).await?.into_response())
}

pub async fn retrieve(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require(Permission::MethodsView)?;
    f.params.only(&["expand", "client_secret"])?;
    let setup = customers::get_setup(&r.ctx(&state), &setup_id(&id)?).await.map_err(|_| no_such(&id))?;
    Ok(rendered(StatusCode::OK, render(&setup)))
}

pub async fn confirm(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require(Permission::MethodsManage)?;
    let p = &f.params;
    p.only(&["payment_method", "payment_method_data", "expand", "return_url"])?;
    p.text("return_url")?;
    let id = setup_id(&id)?;
    let token = token_of(&state, &r, p).await?;
    Ok(customers::confirm_setup(r.ctx(&state), &id, &token).await?.into_response())
}
