//! Reading payments: one intent, one with its processor calls, and the lists (every payment, or
//! the failed ones). The face checks `payments.transactions.view`, except for [`get_intent`],
//! which a browser's publishable key may call with the intent's client secret.

use kassa::api::{FailedCounts, FailedFilters, IntentWithHistory, Page, PageMeta, PaymentIntent, Permission, TransactionFilters};
use kassa::MinorUnits;

use super::charge::intent_for_client;
use super::context::*;
use crate::clock::{now_ms, RangeEnd};
use crate::context::{bad_cursor, filter_date, page_limit};
use crate::store::intents::IntentQuery;

/// The statuses of a failed payment.
const FAILED: [IntentStatus; 2] = [IntentStatus::Declined, IntentStatus::Error];

/// How far back the failed payments go unless `dateFrom` says.
const FAILED_DAYS: i64 = 30;

/// One intent. A publishable key sees it only with its `client_secret` (anything else is
/// `NOT_FOUND`), and then without what only the merchant's server may see; any other caller
/// needs `payments.transactions.view`, which is checked here.
pub async fn get_intent(ctx: &Ctx<'_>, id: &PaymentIntentId, client_secret: Option<&str>) -> ApiResult<PaymentIntent> {
    let publishable = ctx.publishable();
    let intent = if publishable {
        intent_for_client(ctx, id, client_secret).await?
    } else {
        ctx.require(Permission::TransactionsView)?;
        load(ctx, id).await?
    };
    Ok(intent.to_api_for(publishable))
}

/// One payment with every processor call made for it, oldest first.
pub async fn history(ctx: &Ctx<'_>, id: &PaymentIntentId) -> ApiResult<IntentWithHistory> {
    let intent = load(ctx, id).await?;
    let transactions = intents::list_transactions(&ctx.state.store, ctx.merchant, id).await?;
    Ok(IntentWithHistory { intent: intent.to_api(), transactions })
}

/// What every list of payments takes: a page size, a cursor and dates, checked.
struct Listing<'a> {
    date_from: Option<&'a str>,
    date_to: Option<&'a str>,
    cursor: Option<&'a str>,
    limit: Option<u32>,
}

async fn page_query(ctx: &Ctx<'_>, listing: Listing<'_>) -> ApiResult<IntentQuery> {
    let limit = page_limit(listing.limit)?;
    let after = match listing.cursor {
        None => None,
        Some(cursor) => {
            let id: PaymentIntentId = cursor.parse().map_err(|_| bad_cursor())?;
            if !intents::exists(&ctx.state.store, ctx.merchant, &id).await? {
                return Err(bad_cursor());
            }
            Some(id)
        }
    };
    Ok(IntentQuery {
        date_from: filter_date("dateFrom", listing.date_from, RangeEnd::From)?,
        date_to: filter_date("dateTo", listing.date_to, RangeEnd::To)?,
        after,
        limit,
        ..IntentQuery::default()
    })
}

async fn page(ctx: &Ctx<'_>, query: &IntentQuery) -> ApiResult<Page<PaymentIntent>> {
    let (rows, has_more) = intents::list(&ctx.state.store, ctx.merchant, query).await?;
    let cursor = if has_more { rows.last().map(|r| r.id.to_string()) } else { None };
    Ok(Page { data: rows.iter().map(IntentRecord::to_api).collect(), meta: PageMeta { cursor, has_more } })
}

/// The merchant's payments, newest first, as `filters` narrow them; `filters.cursor` is the last
/// id of the page before.
pub async fn list(ctx: &Ctx<'_>, filters: &TransactionFilters) -> ApiResult<Page<PaymentIntent>> {
    if filters.card_last4.as_deref().is_some_and(|l| l.len() != 4 || !l.bytes().all(|b| b.is_ascii_digit())) {
        return Err(ApiError::validation("cardLast4", "cardLast4 must be four digits"));
    }
    let listing = Listing {
        date_from: filters.date_from.as_deref(),
        date_to: filters.date_to.as_deref(),
        cursor: filters.cursor.as_deref(),
        limit: filters.limit,
    };
    let query = IntentQuery {
        statuses: filters.status.into_iter().collect(),
        amount_min_cents: filters.amount_min_cents.map(MinorUnits::get),
        amount_max_cents: filters.amount_max_cents.map(MinorUnits::get),
        currency: filters.currency,
        card_last4: filters.card_last4.clone(),
        customer_id: filters.customer_id.clone(),
        order_id: filters.order_id.as_ref().map(|o| o.to_string()),
        reference: filters.reference.clone(),
        location_id: filters.location_id.clone(),
        ..page_query(ctx, listing).await?
    };
    page(ctx, &query).await
}

/// The query of the failed payments `filters` name: declined or failed (one of them if
/// `filters.status` says), the last 30 days unless `dateFrom` says otherwise.
async fn failed_query(ctx: &Ctx<'_>, filters: &FailedFilters) -> ApiResult<IntentQuery> {
    let statuses = match filters.status {
        None => FAILED.to_vec(),
        Some(status) if FAILED.contains(&status) => vec![status],
        Some(_) => return Err(ApiError::validation("status", "status must be declined or error")),
    };
    let listing = Listing {
        date_from: filters.date_from.as_deref(),
        date_to: filters.date_to.as_deref(),
        cursor: filters.cursor.as_deref(),
        limit: filters.limit,
    };
    let mut query = IntentQuery {
        statuses,
        customer_id: filters.customer_id.clone(),
        location_id: filters.location_id.clone(),
        ..page_query(ctx, listing).await?
    };
    query.date_from = query.date_from.or(Some(now_ms() - FAILED_DAYS * 24 * 3600 * 1000));
    Ok(query)
}

/// Declined and failed payments, newest first (`filters.counts` is the face's to read: see
/// [`count_failed`]).
pub async fn list_failed(ctx: &Ctx<'_>, filters: &FailedFilters) -> ApiResult<Page<PaymentIntent>> {
    let query = failed_query(ctx, filters).await?;
    page(ctx, &query).await
}

/// How many payments [`list_failed`] would list, declined and failed.
pub async fn count_failed(ctx: &Ctx<'_>, filters: &FailedFilters) -> ApiResult<FailedCounts> {
    let query = failed_query(ctx, filters).await?;
    let counts = intents::count_by_status(&ctx.state.store, ctx.merchant, &query).await?;
    let of = |status| counts.iter().filter(|(s, _)| *s == status).map(|(_, n)| n).sum::<i64>();
    let (declined, error) = (of(IntentStatus::Declined), of(IntentStatus::Error));
    Ok(FailedCounts { total: declined + error, declined, error })
}
