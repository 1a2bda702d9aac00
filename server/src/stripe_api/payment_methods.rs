//! `/v1/payment_methods`: a card becomes a PaymentMethod (Kassa's single-use token, shown as
//! `pm_…`), which attaching saves to a customer under the same id; and Stripe's test payment
//! methods (`pm_card_visa`, `tok_chargeDeclined`, …) stand for the sandbox's test cards.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kassa::api::{CardInput, CreateTokenRequest, KeyKind, Permission, SavePaymentMethodRequest};
use kassa::card::{CardNumber, Cvc};
use kassa::id::{CustomerId, PaymentMethodId, TokenId};

use super::form::{invalid, missing, Params};
use super::objects::{self, Method, View};
use super::{rendered, FaceRequest, FaceResult};
use crate::customers;
use crate::error::{ApiError, ApiResult};
use crate::http::context::RequestCtx;
use crate::payments;
use crate::state::AppState;

/// Stripe's test payment methods and tokens, and the sandbox card each stands for.
const TEST_METHODS: &[(&str, &str)] = &[
    ("visa", "4242424242424242"),
    ("visa_debit", "4000056655665556"),
    ("mastercard", "5555555555554444"),
    ("amex", "378282246310005"),
    ("discover", "6011111111111117"),
    ("chargeDeclined", "4000000000000002"),
    ("chargeCustomerFail", "4000000000000341"),
    ("chargeDeclinedInsufficientFunds", "4000000000009995"),
    ("chargeDeclinedLostCard", "4000000000009987"),
    ("chargeDeclinedStolenCard", "4000000000009979"),
    ("chargeDeclinedExpiredCard", "4000000000000069"),
    ("chargeDeclinedIncorrectCvc", "4000000000000127"),
    ("chargeDeclinedProcessingError", "4000000000000119"),
    ("threeDSecure2Required", "4000000000003220"),
    ("authenticationRequired", "4000002760003184"),
    ("threeDSecureOptional", "4000000000003055"),
];

/// The test card a name stands for: `pm_card_<name>` or `tok_<name>`.
fn test_card(name: &str) -> Option<&'static str> {
    let short = name.strip_prefix("pm_card_").or_else(|| name.strip_prefix("tok_"))?;
    TEST_METHODS.iter().find(|(n, _)| *n == short).map(|(_, number)| *number)
}

/// A card Stripe's way (`card[number]`, `card[exp_month]`, `card[exp_year]`, `card[cvc]`).
fn card_input(card: &Params) -> ApiResult<CardInput> {
    card.only(&["number", "exp_month", "exp_year", "cvc", "token"])?;
    if card.has("token") {
        return Err(invalid("card[token]", "parameter_unknown", "Pass the token as `payment_method` instead of card[token]"));
    }
    let number = card.required_text("number")?;
    let number = CardNumber::parse(&number).map_err(|_| invalid("card[number]", "incorrect_number", "Your card number is incorrect."))?;
    let cvc = card
        .text("cvc")?
        .map(|c| Cvc::parse(&c).map_err(|_| invalid("card[cvc]", "invalid_cvc", "Your card's security code is invalid.")))
        .transpose()?;
    let month = card.required_integer("exp_month")?;
    let year = card.required_integer("exp_year")?;
    let (month, year) = (u32::try_from(month).unwrap_or(0), u32::try_from(year).unwrap_or(0));
    Ok(CardInput { number, exp_month: month, exp_year: if year < 100 { year + 2000 } else { year }, cvc, name: None, postal_code: None })
}

fn test_card_input(number: &str) -> CardInput {
    let (year, _) = crate::clock::year_month();
    let cvc = if number.starts_with('3') { "1234" } else { "123" };
    CardInput {
        number: CardNumber::parse(number).expect("the test cards are valid"),
        exp_month: 12,
        exp_year: year + 3,
        cvc: Cvc::parse(cvc).ok(),
        name: None,
        postal_code: None,
    }
}

/// Tokenizes a card through the merchant's processor (the domain's own tokenizing); the token.
async fn tokenize(state: &AppState, r: &RequestCtx, card: CardInput) -> ApiResult<TokenId> {
    // No key of its own: a token that a retry makes again is only a second unused token.
    let ctx = payments::Ctx { key: None, ..r.ctx(state) };
    let created = payments::create_token(ctx, CreateTokenRequest { card, client_request_id: None }).await?;
    super::answer_data(&created)["id"].as_str().and_then(|id| id.parse().ok()).ok_or_else(|| ApiError::internal("a token without an id"))
}

/// `billing_details[...]` as Stripe's clients send it: read, so that a malformed one is refused,
/// and not kept.
fn check_billing_details(p: &Params) -> ApiResult<()> {
    let Some(details) = p.nested("billing_details")? else { return Ok(()) };
    details.only(&["address", "email", "name", "phone"])?;
    for field in ["email", "name", "phone"] {
        details.text(field)?;
    }
    if let Some(address) = details.nested("address")? {
        let fields = ["city", "country", "line1", "line2", "postal_code", "state"];
        address.only(&fields)?;
        for field in fields {
            address.text(field)?;
        }
    }
    Ok(())
}

/// What pays for an intent.
pub enum Paying {
    Token(TokenId),
    Saved(PaymentMethodId),
}

/// The payment method a request names (`payment_method`, or a card in `payment_method_data`).
pub async fn paying(state: &AppState, r: &RequestCtx, p: &Params) -> ApiResult<Option<Paying>> {
    if let Some(data) = p.nested("payment_method_data")? {
        data.only(&["type", "card", "billing_details", "metadata"])?;
        // Taken for Stripe's clients, and not kept.
        check_billing_details(&data)?;
        data.metadata()?;
        if data.text("type")?.as_deref() != Some("card") {
            return Err(invalid("payment_method_data[type]", "parameter_invalid_string", "payment_method_data[type] must be card"));
        }
        let card = data.nested("card")?.ok_or_else(|| missing("payment_method_data[card]"))?;
        return Ok(Some(Paying::Token(tokenize(state, r, card_input(&card)?).await?)));
    }
    let Some(id) = p.text("payment_method")? else { return Ok(None) };
    if let Some(number) = test_card(&id) {
        return Ok(Some(Paying::Token(tokenize(state, r, test_card_input(number)).await?)));
    }
    let found = match id.parse::<TokenId>() {
        // A token by its own id (`tok_…`), as Kassa's API gives them.
        Ok(token) => crate::store::tokens::find(&state.store, &r.caller.merchant_id, &token).await?.map(Method::Token),
        Err(_) => objects::find_method(state, &r.caller.merchant_id, &id).await?,
    };
    match found {
        Some(Method::Saved(saved)) => Ok(Some(Paying::Saved(saved.method.id))),
        Some(Method::Token(token)) if !token.used => Ok(Some(Paying::Token(token.id))),
        // A card that paid once without being saved, or was detached since, pays no more.
        Some(Method::Token(_)) => Err(invalid(
            "payment_method",
            "payment_method_unexpected_state",
            format!("The PaymentMethod {id} was used before without being attached to a customer, or was detached from it; it may not be used again."),
        )),
        None => Err(no_such(&id, "payment_method")),
    }
}

pub fn no_such(id: &str, param: &str) -> ApiError {
    super::form::no_such("PaymentMethod", id, param)
}

/// The PaymentMethod a write answered: its token, or its saved card.
pub async fn render_answer(view: &View<'_>, id: &str) -> ApiResult<serde_json::Value> {
    let id = match id.parse::<TokenId>() {
        Ok(token) => objects::token_method_id(&token).to_string(),
        Err(_) => id.to_owned(),
    };
    // The saved card first: a token attached since shows as its card.
    match objects::find_method(view.state, view.merchant, &id).await? {
        Some(method) => Ok(method.render()),
        None => Err(no_such(&id, "id")),
    }
}

/// `POST /v1/payment_methods`: with a publishable key (the browser) or a secret key.
pub async fn create(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    if !matches!(r.caller.kind, KeyKind::Publishable | KeyKind::Secret) && r.caller.require(Permission::TransactionsCreate).is_err() {
        r.caller.require(Permission::MethodsManage)?;
    }
    r.limit_card_attempts(&state).await?;
    let p = &f.params;
    p.only(&["type", "card", "billing_details", "metadata", "expand"])?;
    // Taken for Stripe's clients, and not kept.
    check_billing_details(p)?;
    p.metadata()?;
    if p.required_text("type")? != "card" {
        return Err(invalid("type", "payment_method_type_unavailable", "Kassa takes cards only: type must be card"));
    }
    let card = p.nested("card")?.ok_or_else(|| missing("card"))?;
    let ctx = r.ctx(&state);
    Ok(payments::create_token(ctx, CreateTokenRequest { card: card_input(&card)?, client_request_id: None }).await?.into_response())
}

pub async fn retrieve(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require(Permission::MethodsView)?;
    f.params.only(&["expand"])?;
    let method = objects::find_method(&state, &r.caller.merchant_id, &id).await?.ok_or_else(|| no_such(&id, "id"))?;
    Ok(rendered(StatusCode::OK, method.render()))
}

fn customer_param(p: &Params) -> ApiResult<CustomerId> {
    let id = p.required_text("customer")?;
    id.parse().map_err(|_| super::form::no_such("customer", &id, "customer"))
}

/// Saves the card to a customer (the token is used up), under the same `pm_` id.
pub async fn attach(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require(Permission::MethodsManage)?;
    f.params.only(&["customer", "expand"])?;
    let customer = customer_param(&f.params)?;
    let token = match objects::find_method(&state, &r.caller.merchant_id, &id).await?.ok_or_else(|| no_such(&id, "id"))? {
        Method::Token(token) if !token.used => token,
        Method::Token(_) => {
            return Err(ApiError::invalid_state(format!("The PaymentMethod {id} was already used and may not be attached to a customer"))
                .with_details(serde_json::json!({ "stripeCode": "payment_method_unexpected_state" })))
        }
        Method::Saved(saved) if saved.method.customer_id == customer => {
            return Ok(rendered(StatusCode::OK, objects::saved_method(&saved.method)));
        }
        Method::Saved(_) => {
            return Err(ApiError::invalid_state(format!("The PaymentMethod {id} is already attached to another customer"))
                .with_details(serde_json::json!({ "stripeCode": "payment_method_unexpected_state" })))
        }
    };
    let req = SavePaymentMethodRequest { token: token.id, nickname: None, is_default: false, client_request_id: None };
    Ok(customers::save_method(r.ctx(&state), &customer, req).await?.into_response())
}

pub async fn detach(State(state): State<AppState>, r: RequestCtx, f: FaceRequest, Path(id): Path<String>) -> FaceResult {
    r.caller.require(Permission::MethodsManage)?;
    f.params.only(&["expand"])?;
    let Some(Method::Saved(saved)) = objects::find_method(&state, &r.caller.merchant_id, &id).await? else {
        return Err(ApiError::invalid_state(format!("The PaymentMethod {id} is not attached to a customer"))
            .with_details(serde_json::json!({ "stripeCode": "payment_method_unexpected_state" })));
    };
    let ctx = r.ctx(&state);
    let detached = customers::detach_method(&ctx, &saved.method.customer_id, &saved.method.id, None).await?;
    // The answer the domain saved under the key, which a retry replays: the card, detached.
    Ok(crate::idempotency::Recorded::ok(&kassa::api::Data { data: detached }).into_response())
}

/// `GET /v1/payment_methods?customer=…`: a customer's saved cards.
pub async fn list(State(state): State<AppState>, r: RequestCtx, f: FaceRequest) -> FaceResult {
    f.params.only(&["customer", "type", "limit", "starting_after", "ending_before", "expand"])?;
    let customer = customer_param(&f.params)?;
    // A customer deleted, or never made, has no cards to list: it is not there.
    customers::get(&r.ctx(&state), &customer).await.map_err(|_| super::form::no_such("customer", customer.as_str(), "customer"))?;
    list_of(&state, &r, &f.params, &customer, "/v1/payment_methods").await
}

/// A customer's saved cards as a Stripe list, paged by `starting_after` / `ending_before`.
pub async fn list_of(state: &AppState, r: &RequestCtx, p: &Params, customer: &CustomerId, url: &str) -> FaceResult {
    // The page's parameters are read whatever the type, so that a bad one is refused, not passed over.
    let limit = super::form::limit(p)? as usize;
    let (after, before) = (p.text("starting_after")?, p.text("ending_before")?);
    if p.text("type")?.is_some_and(|t| t != "card") {
        return Ok(rendered(StatusCode::OK, objects::list(url, Vec::new(), false)));
    }
    let ctx = r.ctx(state);
    let methods = customers::list_methods(&ctx, customer, None).await?;
    let backwards = after.is_none() && before.is_some();
    let position = |id: Option<String>, name: &str| -> ApiResult<Option<usize>> {
        let Some(id) = id else { return Ok(None) };
        // A cursor that is not in the list is a bad parameter (400), as in every other list.
        methods
            .iter()
            .position(|m| m.id.as_str() == id)
            .map(Some)
            .ok_or_else(|| invalid(name, "resource_missing", format!("No such PaymentMethod: '{id}'")))
    };
    let (start, end) = match (position(after, "starting_after")?, position(before, "ending_before")?) {
        (Some(after), _) => (after + 1, (after + 1 + limit).min(methods.len())),
        (None, Some(before)) => (before.saturating_sub(limit), before),
        (None, None) => (0, limit.min(methods.len())),
    };
    let has_more = if backwards { start > 0 } else { end < methods.len() };
    let data = methods[start..end].iter().map(objects::saved_method).collect();
    Ok(rendered(StatusCode::OK, objects::list(url, data, has_more)))
}
