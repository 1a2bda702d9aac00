//! The 3-D Secure challenge: the issuer's page (served by Kassa in the sandbox) takes the
//! cardholder's one-time code, and its answer finishes the intent.

use kassa::api::IntentStatus;
use kassa::id::{MerchantId, PaymentIntentId};
use kassa::Currency;

use super::operation::{self, Answer, Operation, Plan};
use super::*;
use crate::clock::now_ms;
use crate::store::merchants as merchant_store;

/// What the challenge page shows.
pub enum Page {
    /// Ask for the one-time code.
    Challenge {
        intent_id: PaymentIntentId,
        merchant: String,
        amount_minor: i64,
        currency: Currency,
        last4: String,
        opener_origin: Option<String>,
        /// Origins around the opener that may frame the page too.
        frame_ancestors: Option<String>,
    },
    /// The challenge is over; tell the page that opened it.
    Finished {
        intent_id: PaymentIntentId,
        status: IntentStatus,
        succeeded: bool,
        message: String,
        opener_origin: Option<String>,
        frame_ancestors: Option<String>,
        return_url: Option<String>,
    },
    /// No open challenge at this address.
    Invalid,
}

/// The intent behind a challenge address, if `session` is its secret (open or already answered).
async fn challenge_intent(state: &AppState, id: &str, session: &str) -> ApiResult<Option<(MerchantId, IntentRecord)>> {
    let Ok(id) = id.parse::<PaymentIntentId>() else { return Ok(None) };
    let Some((merchant, intent)) = intents::find_any(&state.store, &id).await? else { return Ok(None) };
    Ok(secret_matches(session, intent.three_ds_session_hash.as_deref()).then_some((merchant, intent)))
}

pub async fn show(state: &AppState, id: &str, session: &str) -> ApiResult<Page> {
    let Some((merchant, intent)) = challenge_intent(state, id, session).await? else { return Ok(Page::Invalid) };
    if intent.status != IntentStatus::RequiresAction {
        return finished_after(state, &merchant, intent).await;
    }
    let merchant_name = merchant_store::name(&state.store, &merchant).await?.unwrap_or_default();
    Ok(Page::Challenge {
        intent_id: intent.id.clone(),
        merchant: merchant_name,
        amount_minor: intent.total_cents(),
        currency: intent.currency,
        last4: intent.card_last4.clone().unwrap_or_default(),
        opener_origin: intent.opener_origin.clone(),
        frame_ancestors: intent.frame_ancestors.clone(),
    })
}

/// Finishes the challenge with the code the cardholder typed (`None`: they cancelled). Only one
/// answer is taken: a second one (a double click on Verify) waits for the first one's outcome.
pub async fn complete(state: &AppState, id: &str, session: &str, code: Option<&str>) -> ApiResult<Page> {
    let Some((merchant, intent)) = challenge_intent(state, id, session).await? else { return Ok(Page::Invalid) };
    if intent.status != IntentStatus::RequiresAction {
        return finished_after(state, &merchant, intent).await;
    }
    let ctx = Ctx { state, merchant: &merchant, caller: None, key: None, public_base: "" };
    // A payment the browser confirms may try another card; one the shop's server made may not.
    let on_failure = if intent.client_secret_hash.is_some() { OnFailure::TryAgain } else { OnFailure::Final };
    let capture = intent.capture_method == kassa::api::CaptureMethod::Automatic;
    let op = Operation::new(&ctx, &intent.id, Plan::ThreeDs { capture, on_failure });
    let (owner, intent_id, session_hash, op_id, now) =
        (merchant.clone(), intent.id.clone(), intent.three_ds_session_hash.clone().unwrap_or_default(), op.id.clone(), now_ms());
    let claimed = operation::claim(&ctx, &op, move |tx| {
        Box::pin(async move {
            if intents::claim_challenge(tx, &owner, &intent_id, &session_hash, &op_id, now).await? {
                Ok(())
            } else {
                Err(ApiError::invalid_state("This challenge was already answered"))
            }
        })
    })
    .await;
    if claimed.is_err() {
        // Another answer won; its claim may be committed a moment after ours was refused (writes
        // are committed in groups), so wait to see it before waiting for its outcome.
        let mut now = intents::find(&state.store, &merchant, &intent.id).await?.unwrap_or(intent);
        for _ in 0..50 {
            if now.status != IntentStatus::RequiresAction {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            now = intents::find(&state.store, &merchant, &now.id).await?.unwrap_or(now);
        }
        return finished_after(state, &merchant, now).await;
    }
    let processor_token = intent.processor_token.clone().unwrap_or_default();
    let authentication = match code {
        Some(code) => {
            let key = op.processor_key("authenticate");
            let reference = intent.provider_reference.as_deref();
            match operation::processor_of(state, &merchant, intent.processor_token.as_deref()).await {
                Ok(processor) => operation::within(state.processor_timeout, processor.authenticate(reference, &processor_token, code, &key)).await,
                Err(e) => Err(e),
            }
        }
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
    let authorization = match &authentication {
        Ok(reply) if reply.outcome == Outcome::Approved => Some(operation::authorize(state, &op, &intent, true).await),
        _ => None,
    };
    let answer = Answer::Challenge { authentication, authorization };
    if answer.is_unknown() {
        return Ok(finished(&IntentRecord { status: IntentStatus::Processing, ..intent }));
    }
    let (settled, _) = operation::settle(state, op, answer).await?;
    Ok(finished(&settled))
}

/// The page for an answered challenge, once its outcome is known (or after a few seconds).
async fn finished_after(state: &AppState, merchant: &MerchantId, mut intent: IntentRecord) -> ApiResult<Page> {
    for _ in 0..100 {
        if intent.status != IntentStatus::Processing {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        intent = intents::find(&state.store, merchant, &intent.id).await?.unwrap_or(intent);
    }
    Ok(finished(&intent))
}

fn finished(intent: &IntentRecord) -> Page {
    let succeeded = matches!(intent.status, IntentStatus::Captured | IntentStatus::Authorized);
    let message = match (&intent.last_error, intent.status) {
        (_, IntentStatus::Processing) => "Your bank has not answered yet; the shop will tell you the outcome.".to_owned(),
        (Some(error), _) if !succeeded => error.message.clone(),
        _ => "Your bank confirmed the payment.".to_owned(),
    };
    Page::Finished {
        intent_id: intent.id.clone(),
        status: intent.status,
        succeeded,
        message,
        opener_origin: intent.opener_origin.clone(),
        frame_ancestors: intent.frame_ancestors.clone(),
        return_url: intent.return_url.clone(),
    }
}
