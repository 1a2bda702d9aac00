//! Customers and their saved cards. A face checks the caller's permission for these, except where
//! the operation itself decides who may ask: a publishable key may list and detach one customer's
//! cards when it also holds that customer's live session secret ([`may_manage`]).

use kassa::api::{
    CreateCustomerRequest, Customer, CustomerSession, Data, Page, PageRequest, Permission, SavePaymentMethodRequest, SavedPaymentMethod,
    SetupIntent, UpdateCustomerRequest,
};
use kassa::id::{customer_of_session, CustomerId, PaymentMethodId, SetupIntentId, TokenId};
use serde_json::json;
use serde_json::{Map, Value};

use crate::clock::{format_ms, now_ms};
use crate::context::{bad_cursor, page_limit, page_of, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::Recorded;
use crate::ids;
use crate::payments::hash_secret;
use crate::store::customers::{self, StoredMethod};
use crate::store::setup_intents;
use crate::store::tokens::{self, StoredToken};

/// How long a customer session lasts.
const SESSION_MS: i64 = 30 * 60 * 1000;

/// A customer of `ctx`'s merchant: another merchant's, or none, is `NOT_FOUND`.
/// The face checks `payments.methods.view`.
pub async fn get(ctx: &Ctx<'_>, id: &CustomerId) -> ApiResult<Customer> {
    customers::find(&ctx.state.store, ctx.merchant, id).await?.ok_or_else(|| ApiError::not_found("customer"))
}

/// Whether the caller may see (`payments.methods.view`) or change (`payments.methods.manage`) this
/// customer's saved cards: a secret or restricted key with `permission`, or a publishable key
/// with a live session of this very customer (`session`, its secret). A publishable key without a
/// session is `FORBIDDEN`; with another customer's session, or one that ended, `NOT_FOUND`.
pub async fn may_manage(ctx: &Ctx<'_>, customer: &CustomerId, session: Option<&str>, permission: Permission) -> ApiResult<()> {
    if !ctx.publishable() {
        return ctx.require(permission);
    }
    let secret = session
        .ok_or_else(|| ApiError::forbidden("A publishable key needs the customer's session secret in the Kassa-Customer-Session header"))?;
    let owner = match customer_of_session(secret) {
        Some(owner) if &owner == customer => {
            customers::session_customer(&ctx.state.store, ctx.merchant, &hash_secret(secret), now_ms()).await?
        }
        _ => None,
    };
    if owner.as_ref() == Some(customer) {
        Ok(())
    } else {
        Err(ApiError::not_found("customer"))
    }
}

/// Creates a customer; the reply (`201`, the customer) is saved under the request's idempotency
/// key. The face checks `payments.methods.manage`.
pub async fn create(ctx: Ctx<'_>, req: CreateCustomerRequest) -> ApiResult<Recorded> {
    check_details(req.email.as_ref(), req.name.as_ref(), &req.metadata)?;
    let now = now_ms();
    let customer = Customer { id: ids::new(), email: req.email, name: req.name, metadata: req.metadata, created_at: format_ms(now) };
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                customers::insert(tx, &merchant, &customer, now).await?;
                let response = Recorded::created(&Data { data: customer });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

fn check_details(email: Option<&String>, name: Option<&String>, metadata: &Map<String, Value>) -> ApiResult<()> {
    for (field, value) in [("email", email), ("name", name)] {
        if value.is_some_and(|v| v.is_empty() || v.chars().count() > 255) {
            return Err(ApiError::validation(field, format!("{field} must be 1 to 255 characters")));
        }
    }
    if email.is_some_and(|e| !e.contains('@')) {
        return Err(ApiError::validation("email", "email must be an email address"));
    }
    if metadata.len() > 50 {
        return Err(ApiError::validation("metadata", "metadata holds at most 50 keys"));
    }
    Ok(())
}

/// Changes a customer's email, name or metadata; the reply (`200`, the customer as it is now) is
/// saved under the request's idempotency key. The face checks `payments.methods.manage`.
pub async fn update(ctx: Ctx<'_>, id: &CustomerId, req: UpdateCustomerRequest) -> ApiResult<Recorded> {
    let mut customer = get(&ctx, id).await?;
    let cleared = |value: Option<String>, now: Option<String>| match value {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(v),
        None => now,
    };
    customer.email = cleared(req.email, customer.email);
    customer.name = cleared(req.name, customer.name);
    if let Some(metadata) = req.metadata {
        customer.metadata = metadata;
    }
    check_details(customer.email.as_ref(), customer.name.as_ref(), &customer.metadata)?;
    let (merchant, key, now) = (ctx.merchant.clone(), ctx.key.cloned(), now_ms());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if !customers::update(tx, &merchant, &customer).await? {
                    return Err(ApiError::not_found("customer"));
                }
                let response = Recorded::ok(&Data { data: customer });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// Deletes a customer: it is found no more and its saved cards are detached (its payments keep
/// naming it). The face checks `payments.methods.manage`.
pub async fn delete(ctx: &Ctx<'_>, id: &CustomerId) -> ApiResult<()> {
    let (merchant, id) = (ctx.merchant.clone(), id.clone());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if customers::delete(tx, &merchant, &id, now_ms()).await? {
                    Ok(())
                } else {
                    Err(ApiError::not_found("customer"))
                }
            })
        })
        .await
}

/// The merchant's customers, newest first; `page.cursor` is the last id of the page before.
/// The face checks `payments.methods.view`.
pub async fn list(ctx: &Ctx<'_>, page: &PageRequest) -> ApiResult<Page<Customer>> {
    list_by_email(ctx, page, None).await
}

/// The merchant's customers with this `email` (all, with none), newest first; `page.cursor` is
/// the last id of the page before. The face checks `payments.methods.view`.
pub async fn list_by_email(ctx: &Ctx<'_>, page: &PageRequest, email: Option<&str>) -> ApiResult<Page<Customer>> {
    let limit = page_limit(page.limit)?;
    let after = match &page.cursor {
        Some(cursor) => {
            let id: CustomerId = cursor.parse().map_err(|_| bad_cursor())?;
            get(ctx, &id).await.map_err(|_| bad_cursor())?;
            Some(id)
        }
        None => None,
    };
    let (rows, has_more) = customers::list(&ctx.state.store, ctx.merchant, after.as_ref(), email, limit).await?;
    Ok(page_of(rows, has_more, |c| c.id.clone()))
}

/// Saves a tokenized card (`req.token`, a `tok_…`, used up here) as the customer's payment method;
/// the customer's first card, or one saved with `isDefault`, becomes the default. The reply
/// (`201`, the saved method) is saved under the request's idempotency key. The face checks
/// `payments.methods.manage`.
pub async fn save_method(ctx: Ctx<'_>, customer: &CustomerId, req: SavePaymentMethodRequest) -> ApiResult<Recorded> {
    let customer = get(&ctx, customer).await?;
    if req.nickname.as_ref().is_some_and(|n| n.is_empty() || n.chars().count() > 100) {
        return Err(ApiError::validation("nickname", "nickname must be 1 to 100 characters"));
    }
    let token = usable_token(&ctx, &req.token).await?;
    let now = now_ms();
    let stored = method_from_token(&customer.id, &token, req.nickname, req.is_default, now);
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                crate::payments::spend_token(tx, &merchant, Some(&token.id), now).await?;
                let saved = customers::insert_method(tx, &merchant, &stored, now).await?;
                let response = Recorded::created(&Data { data: saved });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// The saved card a token becomes. It keeps the token's characters: one card, one id (`tok_X` →
/// `pm_X`).
fn method_from_token(customer: &CustomerId, token: &StoredToken, nickname: Option<String>, is_default: bool, now: i64) -> StoredMethod {
    StoredMethod {
        method: SavedPaymentMethod {
            id: ids::saved_from(&token.id),
            customer_id: customer.clone(),
            kind: "card".into(),
            card: token.card.clone(),
            nickname,
            is_default,
            created_at: format_ms(now),
        },
        processor_token: token.processor_token.clone(),
    }
}

/// An unused token of the merchant's.
async fn usable_token(ctx: &Ctx<'_>, id: &TokenId) -> ApiResult<StoredToken> {
    let token = tokens::find(&ctx.state.store, ctx.merchant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("card token").with_details(json!({ "field": "token" })))?;
    if token.used {
        return Err(ApiError::invalid_state(crate::payments::TOKEN_USED));
    }
    Ok(token)
}

/// Starts saving a card for a customer without a payment (`usage`: `off_session` or
/// `on_session`); the reply (`201`, the setup intent) is saved under the request's key. The face
/// checks `payments.methods.manage`.
pub async fn create_setup(ctx: Ctx<'_>, customer: &CustomerId, usage: &str, metadata: Map<String, Value>) -> ApiResult<Recorded> {
    let customer = get(&ctx, customer).await?;
    if !matches!(usage, "off_session" | "on_session") {
        return Err(ApiError::validation("usage", "usage must be off_session or on_session"));
    }
    check_details(None, None, &metadata)?;
    let now = now_ms();
    let setup = SetupIntent {
        id: ids::new::<SetupIntentId>(),
        status: "requires_payment_method".into(),
        customer_id: customer.id,
        payment_method_id: None,
        usage: usage.into(),
        metadata,
        created_at: format_ms(now),
    };
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                setup_intents::insert(tx, &merchant, &setup, now).await?;
                let response = Recorded::created(&Data { data: setup });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

pub async fn get_setup(ctx: &Ctx<'_>, id: &SetupIntentId) -> ApiResult<SetupIntent> {
    setup_intents::find(&ctx.state.store, ctx.merchant, id).await?.ok_or_else(|| ApiError::not_found("setup intent"))
}

/// Confirms a setup intent with a token: the card is saved to its customer (the token used up)
/// and the setup intent has `succeeded`, in one change; the reply (`200`, the setup intent) is
/// saved under the request's key. A setup intent saves one card. The face checks
/// `payments.methods.manage`.
pub async fn confirm_setup(ctx: Ctx<'_>, id: &SetupIntentId, token: &TokenId) -> ApiResult<Recorded> {
    let setup = get_setup(&ctx, id).await?;
    if setup.status != "requires_payment_method" {
        return Err(ApiError::invalid_state(format!("A setup intent that has {} cannot be confirmed again", setup.status)));
    }
    let customer = get(&ctx, &setup.customer_id).await?;
    let token = usable_token(&ctx, token).await?;
    let now = now_ms();
    let stored = method_from_token(&customer.id, &token, None, false, now);
    let done = SetupIntent { status: "succeeded".into(), payment_method_id: Some(stored.method.id.clone()), ..setup };
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if !setup_intents::mark_succeeded(tx, &merchant, &done.id, stored.method.id.as_str()).await? {
                    return Err(ApiError::invalid_state("The setup intent changed while this request ran; fetch it and try again"));
                }
                crate::payments::spend_token(tx, &merchant, Some(&token.id), now).await?;
                customers::insert_method(tx, &merchant, &stored, now).await?;
                let response = Recorded::ok(&Data { data: done });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// A customer's saved cards, the default first. Who may ask is decided here ([`may_manage`] with
/// `payments.methods.view`): `session` is the customer session secret a publishable key sends.
pub async fn list_methods(ctx: &Ctx<'_>, customer: &CustomerId, session: Option<&str>) -> ApiResult<Vec<SavedPaymentMethod>> {
    may_manage(ctx, customer, session, Permission::MethodsView).await?;
    get(ctx, customer).await?;
    Ok(customers::list_methods(&ctx.state.store, ctx.merchant, customer).await?)
}

/// Detaches a customer's saved card, which no payment may use after; the card as it was. Who may
/// ask is decided here ([`may_manage`] with `payments.methods.manage`). A card that is not this
/// customer's, or is detached already, is `NOT_FOUND`.
pub async fn detach_method(
    ctx: &Ctx<'_>,
    customer: &CustomerId,
    method: &PaymentMethodId,
    session: Option<&str>,
) -> ApiResult<SavedPaymentMethod> {
    may_manage(ctx, customer, session, Permission::MethodsManage).await?;
    let not_found = || ApiError::not_found("payment method");
    let found = customers::find_method(&ctx.state.store, ctx.merchant, method).await?.filter(|m| m.method.customer_id == *customer);
    let Some(StoredMethod { method: found, .. }) = found else { return Err(not_found()) };
    let detached = SavedPaymentMethod { is_default: false, ..found };
    let (merchant, customer, method, key) = (ctx.merchant.clone(), customer.clone(), method.clone(), ctx.key.cloned());
    let answer = detached.clone();
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                // Checked again as it is written: of two detaching at once, one does.
                let now = now_ms();
                if !customers::detach_method(tx, &merchant, &customer, &method, now).await? {
                    return Err(not_found());
                }
                // A request with a key is answered the same when it is sent again.
                Recorded::ok(&Data { data: answer }).save(tx, &merchant, key.as_ref(), now).await
            })
        })
        .await?;
    Ok(detached)
}

/// A short-lived secret that lets the browser, with the publishable key, list, detach and pay with
/// this customer's cards. The reply (`201`, the session with its secret) is saved under the
/// request's idempotency key. The face checks `payments.methods.manage`.
pub async fn create_session(ctx: Ctx<'_>, customer: &CustomerId) -> ApiResult<Recorded> {
    let customer = get(&ctx, customer).await?;
    let now = now_ms();
    let secret = format!("{}_session_{}", customer.id, ids::secret(""));
    let session = CustomerSession { customer_id: customer.id.clone(), secret: secret.clone(), expires_at: format_ms(now + SESSION_MS) };
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                customers::insert_session(tx, &merchant, &customer.id, &hash_secret(&secret), now + SESSION_MS, now).await?;
                let response = Recorded::created(&Data { data: session });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}
