//! The events a merchant's changes made, as its webhooks carry them. Reading them is the
//! merchant's own business: the face checks that the caller administers it.

use kassa::api::{Event, EventFilters, Page};
use kassa::id::EventId;

use crate::context::{bad_cursor, page_limit, page_of, Ctx};
use crate::error::ApiResult;
use crate::store::events;

/// The merchant's events, newest first, of one type if `filters.kind` names it; `filters.cursor`
/// is the last id of the page before.
pub async fn list(ctx: &Ctx<'_>, filters: &EventFilters) -> ApiResult<Page<Event>> {
    let limit = page_limit(filters.limit)?;
    let mut conn = ctx.state.store.reader().acquire().await?;
    let after = match &filters.cursor {
        Some(cursor) => {
            let id: EventId = cursor.parse().map_err(|_| bad_cursor())?;
            if !events::event_exists(&mut conn, ctx.merchant, &id).await? {
                return Err(bad_cursor());
            }
            Some(id)
        }
        None => None,
    };
    let (data, has_more) = events::list(&mut conn, ctx.merchant, filters.kind.as_deref(), after.as_ref(), limit).await?;
    Ok(page_of(data, has_more, |e| e.id.clone()))
}

/// One of the merchant's events; another merchant's, or none, is `NOT_FOUND`.
pub async fn get(ctx: &Ctx<'_>, id: &EventId) -> ApiResult<Event> {
    let mut conn = ctx.state.store.reader().acquire().await?;
    events::find_event(&mut conn, ctx.merchant, id).await?.ok_or_else(|| crate::error::ApiError::not_found("event"))
}
