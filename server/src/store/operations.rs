//! Claimed money-moving operations: written with the claim, settled with the outcome.

use kassa::id::{MerchantId, PaymentIntentId};
use sqlx::Row;

use super::{Store, Tx};

/// One claimed operation as stored. `plan` is what the outcome needs (JSON, see
/// `crate::payments::operation::Plan`).
#[derive(Debug, Clone)]
pub struct OperationRow {
    pub id: String,
    pub merchant: MerchantId,
    pub intent_id: PaymentIntentId,
    pub kind: String,
    pub amount_cents: i64,
    pub plan: String,
    /// Whose idempotency key `idempotency_key` is ([`crate::merchants::Caller::scope`]).
    pub api_key_id: Option<String>,
    /// Who asked ([`crate::merchants::Caller::label`]).
    pub actor: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
}

pub async fn insert(tx: &mut Tx, op: &OperationRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payment_operations (id, merchant_id, intent_id, kind, amount_cents, state, plan,
                                         api_key_id, idempotency_key, created_at, actor)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10)",
    )
    .bind(&op.id)
    .bind(&op.merchant)
    .bind(&op.intent_id)
    .bind(&op.kind)
    .bind(op.amount_cents)
    .bind(&op.plan)
    .bind(&op.api_key_id)
    .bind(&op.idempotency_key)
    .bind(op.created_at)
    .bind(&op.actor)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// How an operation's outcome was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// For good.
    Done,
    /// Its call never reached the processor: the request whose key it answers may run it again
    /// ([`reopen`]).
    Unsent,
}

/// Pending → settled (or unsent); false when it already was (the live request and the reconciler
/// race, and one of them records the outcome).
pub async fn mark_settled(tx: &mut Tx, merchant: &MerchantId, id: &str, how: Settled, now: i64) -> Result<bool, sqlx::Error> {
    let state = match how {
        Settled::Done => "settled",
        Settled::Unsent => "unsent",
    };
    let done = sqlx::query(
        "UPDATE payment_operations SET state = $1, settled_at = $2
         WHERE merchant_id = $3 AND id = $4 AND state = 'pending'",
    )
    .bind(state)
    .bind(now)
    .bind(merchant)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Unsent → pending again, for a retry of its request, claimed anew at `now`: the reconciler
/// leaves it to the retry's own call as long as it leaves any new claim. False when another
/// retry did it first.
pub async fn reopen(tx: &mut Tx, merchant: &MerchantId, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payment_operations SET state = 'pending', settled_at = NULL, created_at = $1
         WHERE merchant_id = $2 AND id = $3 AND state = 'unsent'",
    )
    .bind(now)
    .bind(merchant)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The unsent operation of one request (whose key `scope` holds, and the key), with when it was
/// found unsent: one claimed under the key's row as it is now, not under a row of the same key
/// forgotten since (a key is kept a day, and may then name another request).
pub async fn find_unsent(store: &Store, merchant: &MerchantId, scope: &str, key: &str) -> Result<Option<(OperationRow, i64)>, sqlx::Error> {
    let columns = COLUMNS.split(", ").map(|c| format!("o.{c}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT {columns}, o.settled_at FROM payment_operations o
         JOIN idempotency_keys k ON k.merchant_id = o.merchant_id AND k.api_key_id = o.api_key_id AND k.key = o.idempotency_key
         WHERE o.merchant_id = $1 AND o.api_key_id = $2 AND o.idempotency_key = $3 AND o.state = 'unsent'
           AND o.created_at >= k.created_at
         ORDER BY o.created_at DESC LIMIT 1"
    );
    let row = sqlx::query(&sql).bind(merchant).bind(scope).bind(key).fetch_optional(store.reader()).await?;
    row.map(|row| Ok((from_row(&row)?, row.try_get::<i64, _>("settled_at")?))).transpose()
}

const COLUMNS: &str = "id, merchant_id, intent_id, kind, amount_cents, plan, api_key_id, idempotency_key, created_at, actor";

fn from_row(row: &super::DbRow) -> Result<OperationRow, sqlx::Error> {
    Ok(OperationRow {
        id: row.try_get("id")?,
        merchant: row.try_get("merchant_id")?,
        intent_id: row.try_get("intent_id")?,
        kind: row.try_get("kind")?,
        amount_cents: row.try_get("amount_cents")?,
        plan: row.try_get("plan")?,
        api_key_id: row.try_get("api_key_id")?,
        actor: row.try_get("actor")?,
        idempotency_key: row.try_get("idempotency_key")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Operations still pending that were claimed before `before`, oldest first.
pub async fn pending(store: &Store, before: i64, limit: i64) -> Result<Vec<OperationRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM payment_operations WHERE state = 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2");
    let rows = sqlx::query(&sql).bind(before).bind(limit).fetch_all(store.reader()).await?;
    rows.iter().map(from_row).collect()
}

/// The operations pending since before `before`, taken in turns so that no merchant crowds out
/// another: every merchant's oldest first, then every merchant's second, and so on, at most
/// `per_merchant` of one merchant and `limit` in all.
pub async fn pending_in_turns(store: &Store, before: i64, per_merchant: i64, limit: i64) -> Result<Vec<OperationRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM (
             SELECT {COLUMNS}, ROW_NUMBER() OVER (PARTITION BY merchant_id ORDER BY created_at, id) AS turn
             FROM payment_operations WHERE state = 'pending' AND created_at < $1
         ) AS due WHERE turn <= $2 ORDER BY turn, created_at LIMIT $3"
    );
    let rows = sqlx::query(&sql).bind(before).bind(per_merchant).bind(limit).fetch_all(store.reader()).await?;
    rows.iter().map(from_row).collect()
}

/// One operation of `merchant`, if it is still pending.
pub async fn find_pending(store: &Store, merchant: &MerchantId, id: &str) -> Result<Option<OperationRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM payment_operations WHERE merchant_id = $1 AND id = $2 AND state = 'pending'");
    let row = sqlx::query(&sql).bind(merchant).bind(id).fetch_optional(store.reader()).await?;
    row.as_ref().map(from_row).transpose()
}

/// An operation with how it stands: `pending`, `settled` or `unsent`.
#[derive(Debug, Clone)]
pub struct OperationState {
    pub op: OperationRow,
    pub state: String,
}

fn with_state(row: &super::DbRow) -> Result<OperationState, sqlx::Error> {
    Ok(OperationState { op: from_row(row)?, state: row.try_get("state")? })
}

/// One operation of `merchant`'s of `kind`, however it stands.
pub async fn find(store: &Store, merchant: &MerchantId, kind: &str, id: &str) -> Result<Option<OperationState>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS}, state FROM payment_operations WHERE merchant_id = $1 AND id = $2 AND kind = $3");
    let row = sqlx::query(&sql).bind(merchant).bind(id).bind(kind).fetch_optional(store.reader()).await?;
    row.as_ref().map(with_state).transpose()
}

/// The latest operation of `kind` that one request (its key's `scope`, and the key) claimed.
pub async fn of_request(
    store: &Store,
    merchant: &MerchantId,
    kind: &str,
    scope: &str,
    key: &str,
) -> Result<Option<OperationState>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS}, state FROM payment_operations
         WHERE merchant_id = $1 AND api_key_id = $2 AND idempotency_key = $3 AND kind = $4
         ORDER BY seq DESC LIMIT 1"
    );
    let row = sqlx::query(&sql).bind(merchant).bind(scope).bind(key).bind(kind).fetch_optional(store.reader()).await?;
    row.as_ref().map(with_state).transpose()
}

/// A page of `merchant`'s operations of `kind` (of one intent, if given), newest first; `after`
/// and `before` are operation ids bounding the page. Whether more follow.
pub async fn list(
    store: &Store,
    merchant: &MerchantId,
    kind: &str,
    intent: Option<&PaymentIntentId>,
    after: Option<&str>,
    before: Option<&str>,
    limit: u32,
) -> Result<(Vec<OperationState>, bool), sqlx::Error> {
    let mut sql = super::SqlBuilder::new(&format!("SELECT {COLUMNS}, state FROM payment_operations WHERE merchant_id = "));
    sql.text(merchant).push(" AND kind = ").text(kind);
    if let Some(intent) = intent {
        sql.push(" AND intent_id = ").text(intent);
    }
    for (bound, op) in [(after, "<"), (before, ">")] {
        if let Some(id) = bound {
            sql.push(&format!(" AND seq {op} (SELECT seq FROM payment_operations WHERE merchant_id = "))
                .text(merchant)
                .push(" AND id = ")
                .text(id)
                .push(")");
        }
    }
    let newest_first = before.is_none();
    sql.push(if newest_first { " ORDER BY seq DESC LIMIT " } else { " ORDER BY seq ASC LIMIT " }).int(i64::from(limit) + 1);
    let rows = sql.query().fetch_all(store.reader()).await?;
    let has_more = rows.len() > limit as usize;
    let mut ops = rows.iter().take(limit as usize).map(with_state).collect::<Result<Vec<_>, _>>()?;
    if !newest_first {
        ops.reverse();
    }
    Ok((ops, has_more))
}
