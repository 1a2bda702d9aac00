use serde::{Deserialize, Serialize};

/// A success: `{"data": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Data<T> {
    pub data: T,
}

/// A page of a list: `{"data": [...], "meta": {"cursor", "hasMore"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub meta: PageMeta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PageMeta {
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub cursor: Option<String>,
    pub has_more: bool,
}

/// A page of a list that has no filters of its own (`GET /customers`): where to go on from, and
/// how many.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Page size bounds for every list.
pub const PAGE_LIMIT_DEFAULT: u32 = 25;
pub const PAGE_LIMIT_MAX: u32 = 100;

/// The longest idempotency key (the `Idempotency-Key` header or `clientRequestId`), in characters.
pub const IDEMPOTENCY_KEY_MAX_LEN: usize = 255;

/// The longest grace period a rolled API key keeps working for, in seconds (a week).
pub const ROLL_GRACE_MAX_SECONDS: u32 = 7 * 24 * 3600;
