//! Finding intents: the filtered, paged lists and the counts of failed payments.

use super::record::*;

/// Filters for listing intents; times are unix milliseconds, `date_to` exclusive.
#[derive(Default)]
pub struct IntentQuery {
    pub statuses: Vec<IntentStatus>,
    pub date_from: Option<i64>,
    pub date_to: Option<i64>,
    pub amount_min_cents: Option<i64>,
    pub amount_max_cents: Option<i64>,
    pub currency: Option<Currency>,
    pub card_last4: Option<String>,
    pub customer_id: Option<String>,
    pub order_id: Option<String>,
    pub reference: Option<String>,
    pub location_id: Option<String>,
    /// Only intents older than this one (the last of the previous page).
    pub after: Option<PaymentIntentId>,
    /// Only intents newer than this one (the first of the next page): the page is the one just
    /// before it, still newest first, and `has_more` tells of still newer ones.
    pub before: Option<PaymentIntentId>,
    pub limit: u32,
}

/// Newest first, keyed on the insertion sequence: new payments land before the first page, so a
/// walk through the pages neither skips nor repeats a row while they arrive.
pub async fn list(store: &Store, merchant: &MerchantId, q: &IntentQuery) -> Result<(Vec<IntentRecord>, bool), sqlx::Error> {
    let mut sql = SqlBuilder::new(&format!("SELECT {INTENT_COLUMNS} FROM payment_intents WHERE merchant_id = "));
    sql.text(merchant);
    push_filters(&mut sql, q);
    if let Some(after) = &q.after {
        sql.push(" AND seq < (SELECT seq FROM payment_intents WHERE merchant_id = ")
            .text(merchant)
            .push(" AND id = ")
            .text(after)
            .push(")");
    }
    if let Some(before) = &q.before {
        sql.push(" AND seq > (SELECT seq FROM payment_intents WHERE merchant_id = ")
            .text(merchant)
            .push(" AND id = ")
            .text(before)
            .push(")");
    }
    let newest_first = q.before.is_none();
    sql.push(if newest_first { " ORDER BY seq DESC LIMIT " } else { " ORDER BY seq ASC LIMIT " }).int(i64::from(q.limit) + 1);
    let rows = sql.query().fetch_all(store.reader()).await?;
    let has_more = rows.len() > q.limit as usize;
    let mut intents: Vec<IntentRecord> = rows.iter().take(q.limit as usize).map(intent_from_row).collect::<Result<_, _>>()?;
    if !newest_first {
        intents.reverse();
    }
    Ok((intents, has_more))
}

fn push_filters(sql: &mut SqlBuilder, q: &IntentQuery) {
    if !q.statuses.is_empty() {
        sql.push(" AND status IN (");
        for (i, status) in q.statuses.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.text(status.as_str());
        }
        sql.push(")");
    }
    if let Some(from) = q.date_from {
        sql.push(" AND created_at >= ").int(from);
    }
    if let Some(to) = q.date_to {
        sql.push(" AND created_at < ").int(to);
    }
    if let Some(min) = q.amount_min_cents {
        sql.push(" AND amount_cents >= ").int(min);
    }
    if let Some(max) = q.amount_max_cents {
        sql.push(" AND amount_cents <= ").int(max);
    }
    if let Some(currency) = q.currency {
        sql.push(" AND currency = ").text(currency.code());
    }
    for (column, value) in [
        ("card_last4", &q.card_last4),
        ("customer_id", &q.customer_id),
        ("order_id", &q.order_id),
        ("reference", &q.reference),
        ("location_id", &q.location_id),
    ] {
        if let Some(value) = value {
            sql.push(&format!(" AND {column} = ")).text(value);
        }
    }
}

/// How many intents match, by status.
pub async fn count_by_status(store: &Store, merchant: &MerchantId, q: &IntentQuery) -> Result<Vec<(IntentStatus, i64)>, sqlx::Error> {
    let mut sql = SqlBuilder::new("SELECT status, COUNT(*) AS n FROM payment_intents WHERE merchant_id = ");
    sql.text(merchant);
    push_filters(&mut sql, q);
    sql.push(" GROUP BY status");
    let rows = sql.query().fetch_all(store.reader()).await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            Ok((status.parse().map_err(|_| decode_error("status", &status))?, row.try_get("n")?))
        })
        .collect()
}
