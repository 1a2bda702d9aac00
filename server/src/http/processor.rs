//! A merchant's card processor (`/api/v1/processor`) and the webhooks processors send
//! (`/processor-webhooks/stripe/{merchant}`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use kassa::api::{Data, ProcessorKind, ProcessorSettings, UpdateProcessorRequest};
use kassa::id::MerchantId;
use serde_json::json;

use super::auth::Caller;
use super::context::RequestCtx;
use super::error::{ApiError, ApiResult};
use super::extract::JsonBody;
use super::idempotency::Recorded;
use crate::clock::now_ms;
use crate::payments::processor_events;
use crate::processor::registry::{self, Credentials};
use crate::processor::ProcessorError;
use crate::state::AppState;

/// How far a processor event's signature time may be from now.
const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;

fn settings(merchant: &MerchantId, kind: ProcessorKind, credentials: Option<&Credentials>) -> ProcessorSettings {
    ProcessorSettings {
        processor: kind,
        secret_key_hint: credentials.map(Credentials::hint),
        webhook_secret_set: credentials.is_some_and(|c| c.webhook_secret.is_some()),
        webhook_path: (kind == ProcessorKind::Stripe).then(|| format!("/processor-webhooks/stripe/{merchant}")),
    }
}

/// This merchant's card processor (secret key only): never its secrets, only their hints.
#[utoipa::path(get, path = "/processor", tag = "processor",
    responses((status = 200, body = crate::http::openapi::ProcessorResponse), (status = 403, body = kassa::ErrorEnvelope)))]
pub async fn get(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Data<ProcessorSettings>>> {
    caller.require_admin()?;
    let (kind, credentials) = registry::load(&state.store, &state.keyring, &caller.merchant_id).await?;
    Ok(Json(Data { data: settings(&caller.merchant_id, kind, credentials.as_ref()) }))
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

/// Chooses this merchant's card processor (secret key only). A Stripe key is tried at Stripe
/// before it is kept, sealed with the server's encryption key, as a new version of the merchant's
/// credentials. Payments already made stay with the processor and credentials that made them.
#[utoipa::path(post, path = "/processor", tag = "processor",
    request_body = UpdateProcessorRequest,
    responses((status = 200, body = crate::http::openapi::ProcessorResponse), (status = 400, body = kassa::ErrorEnvelope),
              (status = 403, body = kassa::ErrorEnvelope), (status = 502, body = kassa::ErrorEnvelope),
              (status = 504, body = kassa::ErrorEnvelope)))]
pub async fn update(State(state): State<AppState>, r: RequestCtx, body: JsonBody) -> ApiResult<Recorded> {
    r.caller.require_admin()?;
    let req: UpdateProcessorRequest = body.parse()?;
    let credentials = check_request(&req)?;
    if let Some(credentials) = &credentials {
        match state.processors.stripe(&credentials.secret_key).check_key().await {
            Ok(()) => {}
            Err(ProcessorError::Failed { code, .. }) if code == "authentication_error" => {
                return Err(ApiError::validation("secretKey", "Stripe refused this secret key"));
            }
            Err(e) => return Err(crate::payments::processor_failure(&e)),
        }
    }
    let (merchant, key) = (r.caller.merchant_id.clone(), r.key.clone());
    let shown = settings(&merchant, req.processor, credentials.as_ref());
    let sealed = registry::seal(&state.keyring, &merchant, credentials.as_ref());
    let response = state
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
    state.processors.forget(&r.caller.merchant_id);
    Ok(response)
}

/// Stripe's webhooks for one merchant: verified with the merchant's signing secret, then applied
/// to its payments once. Answers 200 to anything verified (Stripe retries the rest).
#[utoipa::path(post, path = "/processor-webhooks/stripe/{merchant}", tag = "processor", security(()),
    params(("merchant" = String, Path, description = "The merchant the endpoint belongs to"),
           ("Stripe-Signature" = String, Header, description = "t=<unix>,v1=<hex HMAC-SHA256 of \"t.body\">")),
    request_body(content = serde_json::Value, description = "A Stripe event", content_type = "application/json"),
    responses((status = 200, description = "Verified and applied (or known already)"), (status = 400, body = kassa::ErrorEnvelope),
              (status = 404, body = kassa::ErrorEnvelope)))]
pub async fn stripe_webhook(
    State(state): State<AppState>,
    Path(merchant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let not_found = || ApiError::not_found("processor webhook endpoint");
    let merchant: MerchantId = merchant.parse().map_err(|_| not_found())?;
    // The merchant's Stripe accounts of now and before: Stripe goes on telling about payments made
    // with an account the merchant has moved away from.
    let secrets = registry::stripe_webhook_secrets(&state.store, &state.keyring, &merchant).await?;
    if secrets.is_empty() {
        return Err(not_found());
    }
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let now = now_ms() / 1000;
    let check = |secret: &str| kassa::webhook::verify(&body, signature, secret, now, SIGNATURE_TOLERANCE_SECONDS);
    let Some(signer) = secrets.iter().find(|s| check(&s.secret).is_ok()) else {
        let e = check(&secrets[0].secret).err().map(|e| e.to_string()).unwrap_or_default();
        return Err(ApiError::validation("Stripe-Signature", format!("The Stripe-Signature header does not verify: {e}")));
    };
    let event: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| ApiError::validation("body", "A Stripe event is a JSON object"))?;
    let applied = processor_events::apply_stripe_event(&state, &merchant, &signer.versions, &event).await?;
    tracing::info!(%merchant, event = event["id"].as_str().unwrap_or_default(), kind = event["type"].as_str().unwrap_or_default(), applied = applied.as_str(), "Stripe event");
    Ok(Json(json!({ "received": true, "applied": applied.as_str() })))
}
