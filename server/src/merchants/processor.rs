//! The card processor a merchant's new payments go to, and its credentials. Choosing it is the
//! merchant's own business: the face checks that the caller administers it (a secret key, or an
//! owner in the console) before it calls these. Payments already made stay with the processor
//! and credentials that made them.

use kassa::api::{Data, ProcessorKind, ProcessorSettings, UpdateProcessorRequest};
use kassa::id::MerchantId;

use crate::clock::now_ms;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::idempotency::Recorded;
use crate::processor::registry::{self, Credentials};
use crate::processor::ProcessorError;

fn settings(merchant: &MerchantId, kind: ProcessorKind, credentials: Option<&Credentials>) -> ProcessorSettings {
    ProcessorSettings {
        processor: kind,
        secret_key_hint: credentials.map(Credentials::hint),
        webhook_secret_set: credentials.is_some_and(|c| c.webhook_secret.is_some()),
        webhook_path: (kind == ProcessorKind::Stripe).then(|| format!("/processor-webhooks/stripe/{merchant}")),
    }
}

/// The merchant's processor: never its secrets, only their hints.
pub async fn get(ctx: &Ctx<'_>) -> ApiResult<ProcessorSettings> {
    let (kind, credentials) = registry::load(&ctx.state.store, &ctx.state.keyring, ctx.merchant).await?;
    Ok(settings(ctx.merchant, kind, credentials.as_ref()))
}

/// Checks a processor request; the credentials to store.
pub fn check_request(req: &UpdateProcessorRequest) -> ApiResult<Option<Credentials>> {
    // A secret key is sent to Stripe in a header, where a control character cannot go: such a key
    // is no key, refused here rather than failing at Stripe's door as a processor error.
    let unfit = |value: &Option<String>| value.as_ref().is_some_and(|v| v.len() > 255 || !v.chars().all(|c| c.is_ascii_graphic()));
    for (field, value) in [("secretKey", &req.secret_key), ("webhookSecret", &req.webhook_secret)] {
        if unfit(value) {
            return Err(ApiError::validation(field, format!("{field} must be at most 255 visible ASCII characters, without spaces")));
        }
    }
    match req.processor {
        ProcessorKind::Sandbox if req.secret_key.is_some() || req.webhook_secret.is_some() => {
            Err(ApiError::validation("secretKey", "The sandbox takes no secret key or webhook secret"))
        }
        ProcessorKind::Sandbox => Ok(None),
        ProcessorKind::Stripe => {
            let secret_key = req
                .secret_key
                .clone()
                .ok_or_else(|| ApiError::validation("secretKey", "Stripe needs the account's secret key (sk_… or rk_…)"))?;
            if !(secret_key.starts_with("sk_") || secret_key.starts_with("rk_")) {
                return Err(ApiError::validation(
                    "secretKey",
                    "A Stripe secret key starts with sk_ (or rk_ for a restricted key); never send a publishable pk_ key",
                ));
            }
            if req.webhook_secret.as_ref().is_some_and(|w| !w.starts_with("whsec_")) {
                return Err(ApiError::validation("webhookSecret", "A Stripe webhook signing secret starts with whsec_"));
            }
            Ok(Some(Credentials { secret_key, webhook_secret: req.webhook_secret.clone() }))
        }
    }
}

/// Chooses the merchant's processor. A Stripe key is tried at Stripe before it is kept, sealed
/// with the server's encryption key, as a new version of the merchant's credentials. The reply
/// (`200`, the settings as [`get`] shows them) is saved under the request's idempotency key.
pub async fn update(ctx: Ctx<'_>, req: UpdateProcessorRequest) -> ApiResult<Recorded> {
    let credentials = check_request(&req)?;
    if let Some(credentials) = &credentials {
        match ctx.state.processors.stripe(&credentials.secret_key).check_key().await {
            Ok(()) => {}
            Err(ProcessorError::Failed { code, .. }) if code == "authentication_error" => {
                return Err(ApiError::validation("secretKey", "Stripe refused this secret key"));
            }
            Err(e) => return Err(crate::payments::processor_failure(&e)),
        }
    }
    let (merchant, key) = (ctx.merchant.clone(), ctx.key.cloned());
    let shown = settings(&merchant, req.processor, credentials.as_ref());
    let sealed = registry::seal(&ctx.state.keyring, &merchant, credentials.as_ref());
    let response = ctx
        .state
        .store
        .write(move |tx| {
            Box::pin(async move {
                let now = now_ms();
                registry::save(tx, &merchant, req.processor, sealed.as_deref(), now).await?;
                let response = Recorded::ok(&Data { data: shown });
                response.save(tx, &merchant, key.as_ref(), now).await?;
                Ok::<_, ApiError>(response)
            })
        })
        .await?;
    ctx.state.processors.forget(ctx.merchant);
    Ok(response)
}
