//! `/v1/refunds` (a Refund is one refund operation of `crate::payments::refund`) and
//! `/v1/charges` (a Charge is one authorization attempt of a payment).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kassa::api::{Permission, RefundRequest, TransactionType};
use kassa::id::{PaymentIntentId, TransactionId};
use serde_json::{json, Value};

use super::form::limit;
use super::form::{invalid, Params};
use super::objects::{self, swap_prefix, View};
use super::payment_intents::intent_id;
use super::{rendered, FaceRequest, FaceResult};
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Caller;
use crate::http::context::RequestCtx;
use crate::payments;
use crate::state::AppState;
use crate::store::intents::{self, CallQuery};
use crate::store::operations;

const REFUND: &str = "refund";

fn missing(kind: &str, id: &str) -> ApiError {
    super::form::no_such(kind, id, "id")
}

/// A `ch_` id's authorization attempt, with its intent.
async fn charge_of(state: &AppState, caller: &Caller, id: &str, param: &str) -> ApiResult<(PaymentIntentId, kassa::api::Transaction)> {
    let missing = || missing("charge", id).with_details(json!({ "field": param }));
    let txn: TransactionId = swap_prefix(id, "ch_", TransactionId::PREFIX).and_then(|t| t.parse().ok()).ok_or_else(missing)?;
    match intents::find_transaction(&state.store, &caller.merchant_id, &txn).await? {
        Some((intent, call)) if call.kind == TransactionType::Authorize => Ok((intent, call)),
        _ => Err(missing()),
    }
}

pub async fn create(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    r.caller.require(Permission::TransactionsVoid)?;
    let p = &f.params;
    p.only(&["payment_intent", "charge", "amount", "reason", "expand"])?;
    let reason = p.choice("reason", &["duplicate", "fraudulent", "requested_by_customer"])?;
    let intent = match (p.text("payment_intent")?, p.text("charge")?) {
        (Some(intent), None) => intent_id(&intent)?,
        (None, Some(charge)) => charge_of(&state, &r.caller, &charge, "charge").await?.0,
        (Some(_), Some(_)) => return Err(invalid("charge", "parameter_invalid_string", "Give either payment_intent or charge, not both")),
        (None, None) => return Err(invalid("payment_intent", "parameter_missing", "One of payment_intent or charge is required")),
    };
    let req =
        RefundRequest { payment_intent_id: intent, amount_cents: p.integer("amount")?.map(Into::into), reason, client_request_id: None };
    Ok(payments::refund(r.ctx(&state), req).await?.into_response())
}

/// The Refund a `POST /v1/refunds` made: the refund its idempotency key claimed.
pub async fn of_request(view: &View<'_>, caller: &Caller, request: &FaceRequest) -> ApiResult<Value> {
    let key = super::running_key(view.state, caller, request.key.as_deref().unwrap_or_default()).await;
    let op = operations::of_request(&view.state.store, view.merchant, REFUND, caller.scope(), &key)
        .await?
        .ok_or_else(|| ApiError::internal("a refund answered without its operation"))?;
    objects::refund(view, &op).await
}

pub async fn retrieve(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require(Permission::TransactionsView)?;
    f.params.only(&["expand"])?;
    let view = View::of(&state, &r.caller, &f.expand);
    let op_id = swap_prefix(&id, "re_", "op_").ok_or_else(|| missing("refund", &id))?;
    let op = operations::find(&state.store, view.merchant, REFUND, &op_id).await?.ok_or_else(|| missing("refund", &id))?;
    Ok(rendered(StatusCode::OK, objects::refund(&view, &op).await?))
}

/// `starting_after` / `ending_before` as the stored ids they stand for.
fn bounds(p: &Params, from: &str, to: &str) -> ApiResult<(Option<String>, Option<String>)> {
    let bound = |name: &str| -> ApiResult<Option<String>> {
        p.text(name)?
            .map(|id| swap_prefix(&id, from, to).ok_or_else(|| invalid(name, "resource_missing", format!("No such object: '{id}'"))))
            .transpose()
    };
    Ok((bound("starting_after")?, bound("ending_before")?))
}

pub async fn list(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    r.caller.require(Permission::TransactionsView)?;
    let p = &f.params;
    p.only(&["payment_intent", "charge", "limit", "starting_after", "ending_before", "expand"])?;
    let view = View::of(&state, &r.caller, &f.expand);
    let intent = match (p.text("payment_intent")?, p.text("charge")?) {
        (Some(intent), _) => Some(intent_id(&intent)?),
        (None, Some(charge)) => Some(charge_of(&state, &r.caller, &charge, "charge").await?.0),
        (None, None) => None,
    };
    let (after, before) = bounds(p, "re_", "op_")?;
    let (ops, has_more) =
        operations::list(&state.store, view.merchant, REFUND, intent.as_ref(), after.as_deref(), before.as_deref(), limit(p)?).await?;
    let mut data = Vec::with_capacity(ops.len());
    for op in &ops {
        data.push(objects::refund(&view, op).await?);
    }
    Ok(rendered(StatusCode::OK, objects::list("/v1/refunds", data, has_more)))
}

pub async fn retrieve_charge(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require(Permission::TransactionsView)?;
    f.params.only(&["expand"])?;
    let view = View::of(&state, &r.caller, &f.expand);
    let (intent, call) = charge_of(&state, &r.caller, &id, "id").await?;
    let record = intents::find(&state.store, view.merchant, &intent).await?.ok_or_else(|| missing("charge", &id))?;
    let calls = intents::list_transactions(&state.store, view.merchant, &intent).await?;
    Ok(rendered(StatusCode::OK, objects::charge(&view, &record, &call, &calls).await?))
}

pub async fn list_charges(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    r.caller.require(Permission::TransactionsView)?;
    let p = &f.params;
    p.only(&["payment_intent", "customer", "limit", "starting_after", "ending_before", "expand"])?;
    let view = View::of(&state, &r.caller, &f.expand);
    let intent = p.text("payment_intent")?.map(|i| intent_id(&i)).transpose()?;
    let customer = p.text("customer")?;
    let (after, before) = bounds(p, "ch_", TransactionId::PREFIX)?;
    let parse = |id: Option<String>, name: &str| -> ApiResult<Option<TransactionId>> {
        id.map(|id| id.parse().map_err(|_| invalid(name, "resource_missing", "No such charge"))).transpose()
    };
    let (after, before) = (parse(after, "starting_after")?, parse(before, "ending_before")?);
    let query = CallQuery {
        intent: intent.as_ref(),
        customer: customer.as_deref(),
        after: after.as_ref(),
        before: before.as_ref(),
        limit: limit(p)?,
    };
    let (calls, has_more) = intents::list_authorizations(&state.store, view.merchant, &query).await?;
    let mut data = Vec::with_capacity(calls.len());
    for (intent, call) in &calls {
        let Some(record) = intents::find(&state.store, view.merchant, intent).await? else { continue };
        let history = intents::list_transactions(&state.store, view.merchant, intent).await?;
        data.push(objects::charge(&view, &record, call, &history).await?);
    }
    Ok(rendered(StatusCode::OK, objects::list("/v1/charges", data, has_more)))
}
