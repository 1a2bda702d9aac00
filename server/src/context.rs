//! One request's view, as every face hands it to the domain: whom it is for, who asks, the
//! idempotency key it runs under, and the address the server is reached at. A face builds it from
//! its own transport (Kassa's API from its headers, another API's face from its own) and calls
//! the same domain functions with it.

use kassa::api::{KeyKind, Page, PageMeta, Permission, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX};
use kassa::id::MerchantId;

use crate::clock::{parse_filter_date, RangeEnd};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::IdempotencyKey;
use crate::merchants::Caller;
use crate::state::AppState;

/// One request's view: who it is for, who asks, the idempotency key it runs under, and the
/// address the server is reached at (for links such as the 3-D Secure page).
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub merchant: &'a MerchantId,
    /// The key that asks; `None` for Kassa's own pages (the 3-D Secure page).
    pub caller: Option<&'a Caller>,
    /// The key a write's reply is saved under, in the transaction of its effect.
    pub key: Option<&'a IdempotencyKey>,
    pub public_base: &'a str,
}

impl Ctx<'_> {
    /// Whether a publishable key asks (a browser, which may do only a few things).
    pub fn publishable(&self) -> bool {
        self.caller.is_some_and(|c| c.kind == KeyKind::Publishable)
    }

    /// The caller's `permission` (Kassa's own pages hold every one).
    pub fn require(&self, permission: Permission) -> ApiResult<()> {
        self.caller.map_or(Ok(()), |c| c.require(permission))
    }

    /// Who made a change, as the records show it: the key's id, the user's email, or `kassa`.
    pub fn label(&self) -> &str {
        self.caller.map_or("kassa", Caller::label)
    }
}

/// A list's page size: `limit` as asked (1 to [`PAGE_LIMIT_MAX`]), or [`PAGE_LIMIT_DEFAULT`].
pub fn page_limit(limit: Option<u32>) -> ApiResult<u32> {
    let limit = limit.unwrap_or(PAGE_LIMIT_DEFAULT);
    if !(1..=PAGE_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::validation("limit", format!("limit must be between 1 and {PAGE_LIMIT_MAX}")));
    }
    Ok(limit)
}

/// A `cursor` that names nothing this merchant was given.
pub fn bad_cursor() -> ApiError {
    ApiError::validation("cursor", "cursor is not one this API gave")
}

/// A page of `rows`, whose cursor (when there are more) is the last row's id.
pub fn page_of<T, I: std::fmt::Display>(rows: Vec<T>, has_more: bool, id: impl Fn(&T) -> I) -> Page<T> {
    let cursor = if has_more { rows.last().map(|row| id(row).to_string()) } else { None };
    Page { data: rows, meta: PageMeta { cursor, has_more } }
}

/// A list's date filter (`dateFrom`, `dateTo`), `YYYY-MM-DD` or an RFC 3339 time, in unix
/// milliseconds; a day stands for its start or its end as `end` says.
pub fn filter_date(field: &str, value: Option<&str>, end: RangeEnd) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            parse_filter_date(v, end).ok_or_else(|| ApiError::validation(field, format!("{field} must be YYYY-MM-DD or an RFC 3339 time")))
        })
        .transpose()
}
