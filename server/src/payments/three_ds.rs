//! The 3-D Secure challenge: the issuer's page (served by Kassa in the sandbox) takes the
//! cardholder's one-time code, and its answer finishes the intent.

use kassa::api::{IntentStatus, TransactionType};
use kassa::id::{MerchantId, PaymentIntentId};
use kassa::Currency;

use super::*;
use crate::clock::now_ms;
use crate::store::merchants as merchant_store;

/// What the challenge page shows.
pub enum Page {
    /// Ask for the one-time code.
    Challenge { intent_id: PaymentIntentId, merchant: String, amount_minor: i64, currency: Currency, last4: String, opener_origin: Option<String> },
    /// The challenge is over; tell the page that opened it.
    Finished { intent_id: PaymentIntentId, status: IntentStatus, succeeded: bool, message: String, opener_origin: Option<String>, return_url: Option<String> },
    /// No open challenge at this address.
    Invalid,
}

/// The intent behind an open challenge, if `session` is its secret.
async fn open_challenge(state: &AppState, id: &str, session: &str) -> ApiResult<Option<(MerchantId, IntentRecord)>> {
    let Ok(id) = id.parse::<PaymentIntentId>() else { return Ok(None) };
    let Some((merchant, intent)) = intents::find_any(&state.store, &id).await? else { return Ok(None) };
    let open = intent.status == IntentStatus::RequiresAction && secret_matches(session, intent.three_ds_session_hash.as_deref());
    Ok(open.then_some((merchant, intent)))
}

pub async fn show(state: &AppState, id: &str, session: &str) -> ApiResult<Page> {
    let Some((merchant, intent)) = open_challenge(state, id, session).await? else { return Ok(Page::Invalid) };
    let merchant_name = merchant_store::name(&state.store, &merchant).await?.unwrap_or_default();
    Ok(Page::Challenge {
        intent_id: intent.id.clone(),
        merchant: merchant_name,
        amount_minor: intent.total_cents(),
        currency: intent.currency,
        last4: intent.card_last4.clone().unwrap_or_default(),
        opener_origin: intent.opener_origin.clone(),
    })
}

/// Finishes the challenge with the code the cardholder typed (`None`: they cancelled).
pub async fn complete(state: &AppState, id: &str, session: &str, code: Option<&str>) -> ApiResult<Page> {
    let Some((merchant, mut intent)) = open_challenge(state, id, session).await? else { return Ok(Page::Invalid) };
    let ctx = Ctx { state, merchant: &merchant, key: None, public_base: "" };
    // A payment the browser confirms may try another card; one the shop's server made may not.
    let on_failure = if intent.client_secret_hash.is_some() { OnFailure::TryAgain } else { OnFailure::Final };
    let processor_token = intent.processor_token.clone().unwrap_or_default();
    let mut steps = Vec::new();
    let authentication = match code {
        Some(code) => state.processor.authenticate(&processor_token, code, &ctx.processor_key("authenticate")).await,
        None => Ok(Reply {
            outcome: Outcome::Declined { decline_code: "authentication_failed".into() },
            response_code: "N".into(),
            response_text: "Cancelled by the cardholder".into(),
            reference: String::new(),
            auth_code: None,
            avs_response: None,
            cvv_response: None,
        }),
    };
    intent.updated_at = now_ms();
    match &authentication {
        Ok(reply) if reply.outcome == Outcome::Approved => {
            steps.push(Step::from_reply(TransactionType::ThreeDs, reply));
            authorize_intent(&ctx, &mut intent, true, "authorize", on_failure, &mut steps).await;
        }
        Ok(reply) => {
            steps.push(Step::from_reply(TransactionType::ThreeDs, reply));
            intent.next_action = None;
            intent.three_ds_session_hash = None;
            decline(&mut intent, "authentication_failed", on_failure);
        }
        Err(e) => {
            let mut error_steps = Vec::new();
            apply_authorization(&ctx, &mut intent, &Err(e.clone()), false, on_failure, &mut error_steps);
            steps.extend(error_steps.into_iter().map(|s| Step { kind: TransactionType::ThreeDs, ..s }));
        }
    }
    let succeeded = matches!(intent.status, IntentStatus::Captured | IntentStatus::Authorized);
    let page = Page::Finished {
        intent_id: intent.id.clone(),
        status: intent.status,
        succeeded,
        message: match &intent.last_error {
            Some(error) => error.message.clone(),
            None => "Your bank confirmed the payment.".into(),
        },
        opener_origin: intent.opener_origin.clone(),
        return_url: intent.return_url.clone(),
    };
    let now = intent.updated_at;
    let changed = state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if !intents::update_attempt(tx, &merchant, &intent, IntentStatus::RequiresAction).await? {
                    return Ok::<_, ApiError>(false);
                }
                record_steps(tx, &merchant, &intent, &steps, now).await?;
                save_card_if_asked(tx, &merchant, &intent, now).await?;
                crate::orders::intent_changed(tx, &merchant, Some((IntentStatus::RequiresAction, 0)), &intent, now).await?;
                Ok(true)
            })
        })
        .await?;
    Ok(if changed { page } else { Page::Invalid })
}
