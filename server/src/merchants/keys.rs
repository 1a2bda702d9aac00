//! A merchant's API keys: made, listed, revoked and rolled. Managing them is the merchant's own
//! business: the face checks that the caller administers it (a secret key, or an owner in the
//! console) before it calls any of these.

use kassa::api::{ApiKey, CreateApiKeyRequest, Data, KeyKind, RollApiKeyRequest, ROLL_GRACE_MAX_SECONDS as MAX_GRACE_SECONDS};
use kassa::id::ApiKeyId;

use super::issue_key;
use crate::clock::now_ms;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::idempotency::Recorded;
use crate::store::merchants;

/// How long a rolled key keeps working when the request does not say.
const DEFAULT_GRACE_SECONDS: u32 = 3600;

/// Makes a key: a restricted one with the permissions it lists, a secret or publishable one with
/// none. The reply (`201`, the key itself, shown only this once; only its hash is kept) is saved
/// under the request's idempotency key.
pub async fn create(ctx: Ctx<'_>, req: CreateApiKeyRequest) -> ApiResult<Recorded> {
    match req.kind {
        KeyKind::Restricted if req.permissions.is_empty() => {
            return Err(ApiError::validation("permissions", "A restricted key needs at least one permission"))
        }
        KeyKind::Secret | KeyKind::Publishable if !req.permissions.is_empty() => {
            return Err(ApiError::validation("permissions", "Only a restricted key takes permissions"))
        }
        _ => {}
    }
    if req.name.as_ref().is_some_and(|n| n.chars().count() > 255) {
        return Err(ApiError::validation("name", "name must be at most 255 characters"));
    }
    let mut permissions = req.permissions.clone();
    permissions.dedup();
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                let created = issue_key(tx, &merchant, req.kind, &permissions, req.name.as_deref()).await?;
                let response = Recorded::created(&Data { data: created });
                response.save(tx, &merchant, key.as_ref(), now_ms()).await?;
                Ok(response)
            })
        })
        .await
}

/// The merchant's keys: names, kinds, hints and lifetimes, never the keys.
pub async fn list(ctx: &Ctx<'_>) -> ApiResult<Vec<ApiKey>> {
    Ok(merchants::list_keys(&ctx.state.store, ctx.merchant).await?)
}

/// Revokes a key at once; the key as it now is. The key making the call cannot revoke itself
/// (`INVALID_STATE`): it is rolled instead, or revoked with another.
pub async fn revoke(ctx: &Ctx<'_>, id: &ApiKeyId) -> ApiResult<ApiKey> {
    if ctx.caller.and_then(|c| c.key_id()) == Some(id) {
        return Err(ApiError::invalid_state("A key cannot revoke itself; roll it, or revoke it with another secret key"));
    }
    let (merchant, revoked) = (ctx.merchant.clone(), id.clone());
    let done =
        ctx.state.store.write(move |tx| Box::pin(async move { merchants::revoke_key(tx, &merchant, &revoked, now_ms()).await })).await?;
    if !done {
        return Err(ApiError::not_found("API key"));
    }
    ctx.state.key_cache.forget(id);
    merchants::find_key(&ctx.state.store, ctx.merchant, id).await?.ok_or_else(|| ApiError::not_found("API key"))
}

/// Rolls a key: a new key with the same kind, permissions and name; the old one keeps working
/// for `req.expiresInSeconds` (an hour unless it says; at most a week), then stops. The reply
/// (`201`, the new key, shown only this once) is saved under the request's idempotency key.
pub async fn roll(ctx: Ctx<'_>, id: &ApiKeyId, req: RollApiKeyRequest) -> ApiResult<Recorded> {
    let grace = req.expires_in_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
    if grace > MAX_GRACE_SECONDS {
        return Err(ApiError::validation("expiresInSeconds", format!("expiresInSeconds must be 0 to {MAX_GRACE_SECONDS}")));
    }
    let old = merchants::find_key(&ctx.state.store, ctx.merchant, id).await?.ok_or_else(|| ApiError::not_found("API key"))?;
    let (merchant, key, old_id) = (ctx.merchant.clone(), ctx.key.cloned(), id.clone());
    let now = now_ms();
    let response = ctx
        .state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if !merchants::expire_key(tx, &merchant, &old_id, now + i64::from(grace) * 1000, now).await? {
                    return Err(ApiError::invalid_state("This key is revoked or expired; create a new one instead"));
                }
                let created = issue_key(tx, &merchant, old.kind, &old.permissions, old.name.as_deref()).await?;
                let response = Recorded::created(&Data { data: created });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok(response)
            })
        })
        .await?;
    ctx.state.key_cache.forget(id);
    Ok(response)
}
