use kassa::api::{Correction, LedgerAction, LedgerKind, LedgerStatus, LineItem, Order, OrderPayment, OrderStatus};
use kassa::id::{MerchantId, OrderId, OrderPaymentId};
use kassa::Currency;
use serde_json::{Map, Value};

use sqlx::Row;

use super::merchants::decode_error;
use super::DbRow;
use super::{Backend, Tx};
use crate::clock::format_ms;

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn enum_str<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn enum_from<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T, sqlx::Error> {
    serde_json::from_value(Value::String(text.to_owned())).map_err(|_| decode_error(column, text))
}

#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub id: OrderId,
    pub status: OrderStatus,
    pub currency: Currency,
    pub customer_id: Option<String>,
    pub line_items: Vec<LineItem>,
    pub subtotal_cents: i64,
    pub total_cents: i64,
    pub metadata: Map<String, Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl OrderRecord {
    pub fn to_api(&self, payments: &[PaymentRecord]) -> Order {
        let entries: Vec<_> = payments.iter().map(|p| (p.kind, p.status, p.amount_cents)).collect();
        Order {
            id: self.id.clone(),
            status: self.status,
            currency: self.currency,
            customer_id: self.customer_id.clone(),
            line_items: self.line_items.clone(),
            subtotal_cents: self.subtotal_cents.into(),
            total_cents: self.total_cents.into(),
            balance_cents: kassa::api::balance(self.total_cents, &entries).into(),
            metadata: self.metadata.clone(),
            payments: payments.iter().map(PaymentRecord::to_api).collect(),
            created_at: format_ms(self.created_at),
            updated_at: format_ms(self.updated_at),
        }
    }
}

pub async fn insert(tx: &mut Tx, merchant: &MerchantId, order: &OrderRecord) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO orders (id, merchant_id, status, currency, customer_id, line_items, subtotal_cents, total_cents,
                             metadata, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&order.id)
    .bind(merchant)
    .bind(enum_str(order.status))
    .bind(order.currency.code())
    .bind(&order.customer_id)
    .bind(json(&order.line_items))
    .bind(order.subtotal_cents)
    .bind(order.total_cents)
    .bind(json(&order.metadata))
    .bind(order.created_at)
    .bind(order.updated_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

const ORDER_COLUMNS: &str = "id, status, currency, customer_id, line_items, subtotal_cents, total_cents, metadata, created_at, updated_at";

fn order_from_row(row: &DbRow) -> Result<OrderRecord, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let currency: String = row.try_get("currency")?;
    Ok(OrderRecord {
        id: row.try_get("id")?,
        status: enum_from("orders.status", &status)?,
        currency: currency.parse().map_err(|_| decode_error("orders.currency", &currency))?,
        customer_id: row.try_get("customer_id")?,
        line_items: parse(row.try_get("line_items")?)?,
        subtotal_cents: row.try_get("subtotal_cents")?,
        total_cents: row.try_get("total_cents")?,
        metadata: parse(row.try_get("metadata")?)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn find(conn: &mut Tx, merchant: &MerchantId, id: &OrderId) -> Result<Option<OrderRecord>, sqlx::Error> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE merchant_id = $1 AND id = $2");
    let row = sqlx::query(&sql).bind(merchant).bind(id).fetch_optional(&mut *conn).await?;
    row.as_ref().map(order_from_row).transpose()
}

pub struct OrderQuery {
    pub status: Option<OrderStatus>,
    pub customer_id: Option<String>,
    pub date_from: Option<i64>,
    pub date_to: Option<i64>,
    pub after: Option<OrderId>,
    pub limit: u32,
}

/// Locks an order until the commit, so that changes to its ledger settle it one at a time.
pub async fn lock(tx: &mut Tx, merchant: &MerchantId, id: &OrderId) -> Result<(), sqlx::Error> {
    if Backend::of(tx) == Backend::Postgres {
        sqlx::query("SELECT 1 FROM orders WHERE merchant_id = $1 AND id = $2 FOR UPDATE")
            .bind(merchant)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    }
    Ok(())
}

pub async fn list(conn: &mut Tx, merchant: &MerchantId, q: &OrderQuery) -> Result<(Vec<OrderRecord>, bool), sqlx::Error> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders
         WHERE merchant_id = $1
           AND ($2 IS NULL OR status = $2)
           AND ($3 IS NULL OR customer_id = $3)
           AND ($4 IS NULL OR created_at >= $4)
           AND ($5 IS NULL OR created_at < $5)
           AND ($6 IS NULL OR seq < (SELECT seq FROM orders WHERE merchant_id = $1 AND id = $6))
         ORDER BY seq DESC LIMIT $7"
    );
    let rows = sqlx::query(&sql)
        .bind(merchant)
        .bind(q.status.map(enum_str))
        .bind(&q.customer_id)
        .bind(q.date_from)
        .bind(q.date_to)
        .bind(&q.after)
        .bind(i64::from(q.limit) + 1)
        .fetch_all(&mut *conn)
        .await?;
    let has_more = rows.len() > q.limit as usize;
    let orders = rows.iter().take(q.limit as usize).map(order_from_row).collect::<Result<_, _>>()?;
    Ok((orders, has_more))
}

pub async fn exists(conn: &mut Tx, merchant: &MerchantId, id: &OrderId) -> Result<bool, sqlx::Error> {
    Ok(find(conn, merchant, id).await?.is_some())
}

/// New line items and total for an order nobody has paid anything on yet.
pub async fn update_terms(tx: &mut Tx, merchant: &MerchantId, order: &OrderRecord) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE orders SET line_items = $1, subtotal_cents = $2, total_cents = $3, updated_at = $4
         WHERE merchant_id = $5 AND id = $6 AND status = 'open'
           AND NOT EXISTS (SELECT 1 FROM order_payments WHERE order_id = $6)",
    )
    .bind(json(&order.line_items))
    .bind(order.subtotal_cents)
    .bind(order.total_cents)
    .bind(order.updated_at)
    .bind(merchant)
    .bind(&order.id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_status(tx: &mut Tx, merchant: &MerchantId, id: &OrderId, status: OrderStatus, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE orders SET status = $1, updated_at = $2 WHERE merchant_id = $4 AND id = $3")
        .bind(enum_str(status))
        .bind(now)
        .bind(id)
        .bind(merchant)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// A payment in an order's ledger, as stored.
#[derive(Debug, Clone)]
pub struct PaymentRecord {
    pub id: OrderPaymentId,
    pub order_id: OrderId,
    pub kind: LedgerKind,
    pub method_id: String,
    pub amount_cents: i64,
    pub status: LedgerStatus,
    pub transaction_ref: Option<String>,
    pub source_payment_id: Option<String>,
    pub invoice_id: Option<String>,
    pub note: Option<String>,
    pub attrs: Map<String, Value>,
    pub corrections: Vec<Correction>,
    pub completed_at: Option<i64>,
    pub reversed_at: Option<i64>,
    pub created_at: i64,
    pub created_via: String,
    pub created_by: Option<String>,
    pub updated_at: i64,
    pub updated_via: String,
    pub updated_by: Option<String>,
}

impl PaymentRecord {
    /// Card payments are kept by the payments that made them (refund or void the payment).
    pub fn can(&self) -> Vec<LedgerAction> {
        if self.created_via == "card" {
            return Vec::new();
        }
        match self.status {
            LedgerStatus::Pending => vec![LedgerAction::Confirm, LedgerAction::Update, LedgerAction::Delete],
            LedgerStatus::Complete => vec![LedgerAction::Update, LedgerAction::Reverse],
            LedgerStatus::Reversed => Vec::new(),
        }
    }

    pub fn to_api(&self) -> OrderPayment {
        OrderPayment {
            id: self.id.clone(),
            kind: self.kind,
            method_id: self.method_id.clone(),
            amount_cents: self.amount_cents.into(),
            status: self.status,
            transaction_ref: self.transaction_ref.clone(),
            source_payment_id: self.source_payment_id.clone(),
            invoice_id: self.invoice_id.clone(),
            note: self.note.clone(),
            attrs: self.attrs.clone(),
            can: self.can(),
            corrections: self.corrections.clone(),
            completed_at: self.completed_at.map(format_ms),
            reversed_at: self.reversed_at.map(format_ms),
            created_at: format_ms(self.created_at),
            created_via: self.created_via.clone(),
            created_by: self.created_by.clone(),
            updated_at: format_ms(self.updated_at),
            updated_via: self.updated_via.clone(),
            updated_by: self.updated_by.clone(),
        }
    }
}

pub async fn insert_payment(tx: &mut Tx, merchant: &MerchantId, p: &PaymentRecord) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_payments (id, merchant_id, order_id, kind, method_id, amount_cents, status, transaction_ref,
            source_payment_id, invoice_id, note, attrs, corrections, completed_at, reversed_at, created_at,
            created_via, updated_at, updated_via, created_by, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
    )
    .bind(&p.id)
    .bind(merchant)
    .bind(&p.order_id)
    .bind(enum_str(p.kind))
    .bind(&p.method_id)
    .bind(p.amount_cents)
    .bind(enum_str(p.status))
    .bind(&p.transaction_ref)
    .bind(&p.source_payment_id)
    .bind(&p.invoice_id)
    .bind(&p.note)
    .bind(json(&p.attrs))
    .bind(json(&p.corrections))
    .bind(p.completed_at)
    .bind(p.reversed_at)
    .bind(p.created_at)
    .bind(&p.created_via)
    .bind(p.updated_at)
    .bind(&p.updated_via)
    .bind(&p.created_by)
    .bind(&p.updated_by)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Rewrites a payment if it is still as it was read (`expected` status and update time).
pub async fn update_payment(
    tx: &mut Tx,
    merchant: &MerchantId,
    p: &PaymentRecord,
    expected: LedgerStatus,
    expected_updated_at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE order_payments SET method_id = $1, amount_cents = $2, status = $3, transaction_ref = $4,
            invoice_id = $5, note = $6, attrs = $7, corrections = $8, completed_at = $9, reversed_at = $10,
            updated_at = $11, updated_via = $12, updated_by = $16
         WHERE merchant_id = $17 AND id = $13 AND status = $14 AND updated_at = $15",
    )
    .bind(&p.method_id)
    .bind(p.amount_cents)
    .bind(enum_str(p.status))
    .bind(&p.transaction_ref)
    .bind(&p.invoice_id)
    .bind(&p.note)
    .bind(json(&p.attrs))
    .bind(json(&p.corrections))
    .bind(p.completed_at)
    .bind(p.reversed_at)
    .bind(p.updated_at)
    .bind(&p.updated_via)
    .bind(&p.id)
    .bind(enum_str(expected))
    .bind(expected_updated_at)
    .bind(&p.updated_by)
    .bind(merchant)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_pending(tx: &mut Tx, merchant: &MerchantId, id: &OrderPaymentId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM order_payments WHERE merchant_id = $2 AND id = $1 AND status = 'pending'")
        .bind(id)
        .bind(merchant)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

fn payment_from_row(row: &DbRow) -> Result<PaymentRecord, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    Ok(PaymentRecord {
        id: row.try_get("id")?,
        order_id: row.try_get("order_id")?,
        kind: enum_from("order_payments.kind", &kind)?,
        method_id: row.try_get("method_id")?,
        amount_cents: row.try_get("amount_cents")?,
        status: enum_from("order_payments.status", &status)?,
        transaction_ref: row.try_get("transaction_ref")?,
        source_payment_id: row.try_get("source_payment_id")?,
        invoice_id: row.try_get("invoice_id")?,
        note: row.try_get("note")?,
        attrs: parse(row.try_get("attrs")?)?,
        corrections: parse(row.try_get("corrections")?)?,
        completed_at: row.try_get("completed_at")?,
        reversed_at: row.try_get("reversed_at")?,
        created_at: row.try_get("created_at")?,
        created_via: row.try_get("created_via")?,
        created_by: row.try_get("created_by")?,
        updated_at: row.try_get("updated_at")?,
        updated_via: row.try_get("updated_via")?,
        updated_by: row.try_get("updated_by")?,
    })
}

const PAYMENT_COLUMNS: &str = "id, order_id, kind, method_id, amount_cents, status, transaction_ref, source_payment_id,
    invoice_id, note, attrs, corrections, completed_at, reversed_at, created_at, created_via, updated_at, updated_via,
    created_by, updated_by";

pub async fn payments(conn: &mut Tx, merchant: &MerchantId, order: &OrderId) -> Result<Vec<PaymentRecord>, sqlx::Error> {
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM order_payments WHERE merchant_id = $2 AND order_id = $1 ORDER BY seq");
    let rows = sqlx::query(&sql).bind(order).bind(merchant).fetch_all(&mut *conn).await?;
    rows.iter().map(payment_from_row).collect()
}
