use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::LineItem;
use crate::id::{OrderId, OrderPaymentId};
use crate::money::{Currency, MinorUnits};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Open,
    PartiallyPaid,
    Paid,
}

/// `POST /orders`. The server computes the subtotal and total from the line items; totals sent by
/// the client are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOrderRequest {
    pub currency: Currency,
    pub line_items: Vec<LineItem>,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Map<String, Value>,
    /// Ignored: the server computes the total.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub total_cents: Option<Value>,
    /// Ignored: the server computes the subtotal.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub subtotal_cents: Option<Value>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// `POST /orders/{id}`: new line items for an open order nothing has been paid on yet, as when a
/// shopper changes the cart on the payment page. The server computes the totals again.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateOrderRequest {
    pub line_items: Vec<LineItem>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    Receipt,
    Refund,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LedgerStatus {
    Pending,
    Complete,
    Reversed,
}

/// What can be done with a ledger payment now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LedgerAction {
    Confirm,
    Update,
    Delete,
    Reverse,
}

/// An earlier version of a corrected payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Correction {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub previous: Map<String, Value>,
    pub corrected_at: String,
    pub corrected_via: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderPayment {
    pub id: OrderPaymentId,
    #[serde(rename = "type")]
    pub kind: LedgerKind,
    /// `card`, `cash`, `cheque`, `external`, …
    pub method_id: String,
    pub amount_cents: MinorUnits,
    pub status: LedgerStatus,
    pub transaction_ref: Option<String>,
    /// The payment intent (card) or earlier payment this one comes from.
    pub source_payment_id: Option<String>,
    pub invoice_id: Option<String>,
    pub note: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attrs: Map<String, Value>,
    pub can: Vec<LedgerAction>,
    pub corrections: Vec<Correction>,
    pub completed_at: Option<String>,
    pub reversed_at: Option<String>,
    pub created_at: String,
    /// `api`, `card` (recorded by a card payment) or `resolve` (a failed payment paid by other means).
    pub created_via: String,
    /// The API key (`key_…`) that recorded it; none when Kassa did (card payments).
    pub created_by: Option<String>,
    pub updated_at: String,
    pub updated_via: String,
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: OrderId,
    pub status: OrderStatus,
    pub currency: Currency,
    pub customer_id: Option<String>,
    pub line_items: Vec<LineItem>,
    pub subtotal_cents: MinorUnits,
    pub total_cents: MinorUnits,
    /// The total minus completed receipts plus completed refunds.
    pub balance_cents: MinorUnits,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Map<String, Value>,
    pub payments: Vec<OrderPayment>,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /orders/{id}/payments`: a manual payment (cash, cheque, an external transfer, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOrderPaymentRequest {
    #[serde(rename = "type")]
    pub kind: LedgerKind,
    pub method_id: String,
    pub amount_cents: MinorUnits,
    /// `pending` or `complete` (the default).
    #[serde(default)]
    pub status: Option<LedgerStatus>,
    #[serde(default)]
    pub transaction_ref: Option<String>,
    #[serde(default)]
    pub source_payment_id: Option<String>,
    #[serde(default)]
    pub invoice_id: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attrs: Map<String, Value>,
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// `PATCH /orders/{id}/payments/{uid}`: a correction; the previous values are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateOrderPaymentRequest {
    #[serde(default)]
    pub method_id: Option<String>,
    #[serde(default)]
    pub amount_cents: Option<MinorUnits>,
    #[serde(default)]
    pub transaction_ref: Option<String>,
    #[serde(default)]
    pub invoice_id: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub attrs: Option<Map<String, Value>>,
}

/// Filters of `GET /orders`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderFilters {
    pub status: Option<OrderStatus>,
    pub customer_id: Option<String>,
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The balance of a ledger: the total, minus completed receipts, plus completed refunds.
pub fn balance(total_cents: i64, payments: &[(LedgerKind, LedgerStatus, i64)]) -> i64 {
    payments.iter().fold(total_cents, |balance, (kind, status, amount)| match (kind, status) {
        (LedgerKind::Receipt, LedgerStatus::Complete) => balance - amount,
        (LedgerKind::Refund, LedgerStatus::Complete) => balance + amount,
        _ => balance,
    })
}

/// An order's status follows its balance: paid exactly when nothing is left to pay.
pub fn status_for(total_cents: i64, balance_cents: i64) -> OrderStatus {
    if balance_cents <= 0 {
        OrderStatus::Paid
    } else if balance_cents >= total_cents {
        OrderStatus::Open
    } else {
        OrderStatus::PartiallyPaid
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry() -> impl Strategy<Value = (LedgerKind, LedgerStatus, i64)> {
        (
            prop_oneof![Just(LedgerKind::Receipt), Just(LedgerKind::Refund)],
            prop_oneof![Just(LedgerStatus::Pending), Just(LedgerStatus::Complete), Just(LedgerStatus::Reversed)],
            1i64..100_000,
        )
    }

    proptest! {
        #[test]
        fn the_balance_is_the_total_less_what_completed_receipts_net_of_refunds_paid(
            total in 1i64..1_000_000, entries in proptest::collection::vec(entry(), 0..30),
        ) {
            let paid: i64 = entries.iter().map(|(k, s, a)| match (k, s) {
                (LedgerKind::Receipt, LedgerStatus::Complete) => *a,
                (LedgerKind::Refund, LedgerStatus::Complete) => -*a,
                _ => 0,
            }).sum();
            let b = balance(total, &entries);
            prop_assert_eq!(b, total - paid);
            // Order does not matter, and pending or reversed entries count for nothing.
            let mut reversed = entries.clone();
            reversed.reverse();
            prop_assert_eq!(balance(total, &reversed), b);
            let counted: Vec<_> = entries.iter().copied().filter(|(_, s, _)| *s == LedgerStatus::Complete).collect();
            prop_assert_eq!(balance(total, &counted), b);
            prop_assert_eq!(status_for(total, b) == OrderStatus::Paid, b <= 0);
        }
    }
}
