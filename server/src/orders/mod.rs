//! Orders: made, changed, paid by card (an intent for the balance, [`payment_intent`]) or by hand
//! (the payments [`ledger`]). Every write here saves its reply (the order as it then is) under the
//! request's idempotency key, in the transaction of its change. The face checks `orders.manage`
//! (or `orders.view` to read); money given back takes the permission a card refund takes, which
//! is checked here.

pub mod ledger;

use kassa::api::{
    CaptureMethod, CreateIntentRequest, CreateOrderPaymentRequest, CreateOrderRequest, Data, LedgerKind, LedgerStatus, Order, OrderFilters,
    Page, Permission, UpdateOrderPaymentRequest, UpdateOrderRequest,
};
use kassa::id::{CustomerId, MerchantId, OrderId, OrderPaymentId};
use serde_json::json;

use crate::clock::RangeEnd;
use crate::context::{bad_cursor, filter_date, page_limit, page_of, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::Recorded;
use crate::payments;
use crate::store::orders::{self, OrderQuery, OrderRecord, PaymentRecord};
use crate::store::{customers, Tx};

async fn load(ctx: &Ctx<'_>, id: &OrderId) -> ApiResult<OrderRecord> {
    let mut conn = ctx.state.store.reader().acquire().await?;
    orders::find(&mut conn, ctx.merchant, id).await?.ok_or_else(|| ApiError::not_found("order"))
}

async fn view(tx: &mut Tx, merchant: &MerchantId, id: &OrderId) -> Result<Order, sqlx::Error> {
    let order = orders::find(tx, merchant, id).await?.ok_or(sqlx::Error::RowNotFound)?;
    let payments = orders::payments(tx, merchant, id).await?;
    Ok(order.to_api(&payments))
}

/// Makes an order; its total is computed from the line items, never taken from the client. The
/// reply is `201` with the order.
pub async fn create(ctx: Ctx<'_>, req: CreateOrderRequest) -> ApiResult<Recorded> {
    let now = ledger::now();
    let order = ledger::new_order(req, now)?;
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                orders::insert(tx, &merchant, &order).await?;
                let response = Recorded::created(&Data { data: order.to_api(&[]) });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// An order with its payments ledger and balance.
pub async fn get(ctx: &Ctx<'_>, id: &OrderId) -> ApiResult<Order> {
    let order = load(ctx, id).await?;
    let mut conn = ctx.state.store.reader().acquire().await?;
    let payments = orders::payments(&mut conn, ctx.merchant, id).await?;
    Ok(order.to_api(&payments))
}

/// The merchant's orders, newest first, as `filters` narrow them; `filters.cursor` is the last id
/// of the page before.
pub async fn list(ctx: &Ctx<'_>, filters: &OrderFilters) -> ApiResult<Page<Order>> {
    let limit = page_limit(filters.limit)?;
    let mut conn = ctx.state.store.reader().acquire().await?;
    let after = match &filters.cursor {
        Some(cursor) => {
            let id: OrderId = cursor.parse().map_err(|_| bad_cursor())?;
            if !orders::exists(&mut conn, ctx.merchant, &id).await? {
                return Err(bad_cursor());
            }
            Some(id)
        }
        None => None,
    };
    let query = OrderQuery {
        status: filters.status,
        customer_id: filters.customer_id.clone(),
        date_from: filter_date("dateFrom", filters.date_from.as_deref(), RangeEnd::From)?,
        date_to: filter_date("dateTo", filters.date_to.as_deref(), RangeEnd::To)?,
        after,
        limit,
    };
    let (rows, has_more) = orders::list(&mut conn, ctx.merchant, &query).await?;
    let mut data = Vec::with_capacity(rows.len());
    for order in &rows {
        let payments = orders::payments(&mut conn, ctx.merchant, &order.id).await?;
        data.push(order.to_api(&payments));
    }
    Ok(page_of(data, has_more, |o| o.id.clone()))
}

/// New line items for an open order nothing has been paid on yet; the totals follow them. The
/// reply is `200` with the order.
pub async fn update(ctx: Ctx<'_>, id: &OrderId, req: UpdateOrderRequest) -> ApiResult<Recorded> {
    let order = load(&ctx, id).await?;
    let now = ledger::now();
    let changed = ledger::with_line_items(order, req.line_items, now)?;
    let (merchant, key, id) = (ctx.merchant.clone(), ctx.key.cloned(), id.clone());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                // Checked in the same statement that writes, so a payment recorded meanwhile wins.
                if !orders::update_terms(tx, &merchant, &changed).await? {
                    return Err(ApiError::invalid_state("Only an open order with no payments can change its line items"));
                }
                ledger::settle(tx, &merchant, &id, now).await?;
                let response = Recorded::ok(&Data { data: view(tx, &merchant, &id).await? });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// A payment intent for the order's open balance, carrying its line items (and its customer,
/// when that is one of the merchant's): [`payments::create_intent`]'s reply. The face checks
/// `payments.transactions.create` as well as `orders.manage`.
pub async fn payment_intent(ctx: Ctx<'_>, id: &OrderId) -> ApiResult<Recorded> {
    let order = get(&ctx, id).await?;
    let balance = order.balance_cents.get();
    if balance <= 0 {
        return Err(
            ApiError::invalid_state("This order is paid; there is nothing left to pay").with_details(json!({ "balanceCents": balance }))
        );
    }
    // Refunds recorded by hand can leave more owing than one payment may carry.
    if balance > kassa::money::MAX_AMOUNT_CENTS {
        return Err(ApiError::invalid_state(format!(
            "This order's balance is more than one payment can carry (at most {}); take part of it another way first",
            kassa::money::MAX_AMOUNT_CENTS
        ))
        .with_details(json!({ "balanceCents": balance, "maxAmountCents": kassa::money::MAX_AMOUNT_CENTS })));
    }
    let customer = match order.customer_id.as_deref().and_then(|c| c.parse::<CustomerId>().ok()) {
        Some(c) if customers::find(&ctx.state.store, ctx.merchant, &c).await?.is_some() => Some(c),
        _ => None,
    };
    payments::create_intent(
        ctx,
        CreateIntentRequest {
            amount_cents: balance.into(),
            currency: order.currency,
            capture_method: CaptureMethod::Automatic,
            order_id: Some(order.id),
            reference: None,
            customer_id: customer,
            location_id: None,
            line_items: order.line_items,
            metadata: Default::default(),
            client_request_id: None,
        },
    )
    .await
}

/// Money given back, by card or by hand, takes the permission a card refund takes
/// (`payments.transactions.void`): a role that may not refund a card may not record, correct,
/// confirm or reverse a refund in the ledger either.
fn may_touch_refunds(ctx: &Ctx<'_>, kind: LedgerKind) -> ApiResult<()> {
    if kind == LedgerKind::Refund {
        ctx.require(Permission::TransactionsVoid)?;
    }
    Ok(())
}

/// Records a manual payment (cash, cheque, an external transfer, …) or refund; the order settles
/// (and sends `order.paid` when it is paid). The reply is `201` with the order.
pub async fn add_payment(ctx: Ctx<'_>, id: &OrderId, req: CreateOrderPaymentRequest) -> ApiResult<Recorded> {
    let order = load(&ctx, id).await?;
    may_touch_refunds(&ctx, req.kind)?;
    let now = ledger::now();
    let payment = ledger::new_manual_payment(&order, req, ctx.label(), now)?;
    let (merchant, key, id) = (ctx.merchant.clone(), ctx.key.cloned(), id.clone());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                orders::insert_payment(tx, &merchant, &payment).await?;
                ledger::settle(tx, &merchant, &id, now).await?;
                let response = Recorded::created(&Data { data: view(tx, &merchant, &id).await? });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// A payment of the order, for a change that the caller may make to it.
async fn find_payment(ctx: &Ctx<'_>, order: &OrderId, uid: &OrderPaymentId) -> ApiResult<PaymentRecord> {
    load(ctx, order).await?;
    let mut conn = ctx.state.store.reader().acquire().await?;
    let payment = orders::payments(&mut conn, ctx.merchant, order)
        .await?
        .into_iter()
        .find(|p| p.id == *uid)
        .ok_or_else(|| ApiError::not_found("order payment"))?;
    may_touch_refunds(ctx, payment.kind)?;
    Ok(payment)
}

/// Writes a changed payment (if nobody changed it since it was read), settles the order and
/// answers with it.
async fn save_change(ctx: Ctx<'_>, order: &OrderId, before: PaymentRecord, after: Option<PaymentRecord>) -> ApiResult<Recorded> {
    let (merchant, key, order, now) = (ctx.merchant.clone(), ctx.key.cloned(), order.clone(), ledger::now());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                let done = match &after {
                    Some(after) => orders::update_payment(tx, &merchant, after, before.status, before.updated_at).await?,
                    None => orders::delete_pending(tx, &merchant, &before.id).await?,
                };
                if !done {
                    return Err(ApiError::invalid_state("The payment changed while this request ran; fetch the order and try again"));
                }
                ledger::settle(tx, &merchant, &order, now).await?;
                let response = Recorded::ok(&Data { data: view(tx, &merchant, &order).await? });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await
}

/// Corrects a manual payment; the previous values stay in its `corrections`. The reply is `200`
/// with the order.
pub async fn update_payment(ctx: Ctx<'_>, id: &OrderId, uid: &OrderPaymentId, req: UpdateOrderPaymentRequest) -> ApiResult<Recorded> {
    let payment = find_payment(&ctx, id, uid).await?;
    let after = ledger::corrected(&payment, req, ctx.label(), ledger::now())?;
    save_change(ctx, id, payment, Some(after)).await
}

/// Completes a pending payment. The reply is `200` with the order.
pub async fn confirm_payment(ctx: Ctx<'_>, id: &OrderId, uid: &OrderPaymentId) -> ApiResult<Recorded> {
    let payment = find_payment(&ctx, id, uid).await?;
    let after = ledger::confirmed(&payment, ctx.label(), ledger::now())?;
    save_change(ctx, id, payment, Some(after)).await
}

/// Removes a pending manual payment, or reverses a completed one (it stays in the ledger,
/// reversed). The reply is `200` with the order.
pub async fn delete_payment(ctx: Ctx<'_>, id: &OrderId, uid: &OrderPaymentId) -> ApiResult<Recorded> {
    let payment = find_payment(&ctx, id, uid).await?;
    if payment.status == LedgerStatus::Pending && payment.created_via != "card" {
        return save_change(ctx, id, payment, None).await;
    }
    let after = ledger::reversed(&payment, ctx.label(), ledger::now())?;
    save_change(ctx, id, payment, Some(after)).await
}
