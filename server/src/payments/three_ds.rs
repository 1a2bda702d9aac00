//! The 3-D Secure challenge. Kassa's challenge address is where the cardholder starts, whatever
//! the processor: with the sandbox, Kassa plays the issuer and its page takes the one-time code;
//! with a processor that runs the challenge on its own page (Stripe), Kassa's address sends the
//! cardholder there, and the processor sends them back to Kassa's return address. Either way the
//! answer finishes the intent through the same claim and settlement, once.

use kassa::api::IntentStatus;
use kassa::id::{MerchantId, PaymentIntentId};
use kassa::Currency;

use super::context::*;
use super::operation::{self, Answer, Operation, Plan};
use super::outcome::OnFailure;
use crate::clock::now_ms;
use crate::processor::ChallengeSite;
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
    /// The processor runs the challenge on its own page: send the cardholder there.
    Redirect { url: String },
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
    /// The processor could not be asked where the challenge stands; nothing changed.
    Unavailable { opener_origin: Option<String>, frame_ancestors: Option<String> },
    /// No open challenge at this address.
    Invalid,
}

/// How the cardholder answered.
enum Response<'a> {
    /// The one-time code typed on Kassa's page.
    Code(&'a str),
    /// Cancel on Kassa's page.
    Cancelled,
    /// On the processor's page; the processor says how it ended.
    AtProcessor(Reply),
}

/// The intent behind a challenge address, if `session` is its secret (open or already answered).
async fn challenge_intent(state: &AppState, id: &str, session: &str) -> ApiResult<Option<(MerchantId, IntentRecord)>> {
    let Ok(id) = id.parse::<PaymentIntentId>() else { return Ok(None) };
    let Some((merchant, intent)) = intents::find_any(&state.store, &id).await? else { return Ok(None) };
    Ok(secret_matches(session, intent.three_ds_session_hash.as_deref()).then_some((merchant, intent)))
}

/// Where the open challenge of `intent` is answered, as the processor that asked for it says.
async fn site(state: &AppState, merchant: &MerchantId, intent: &IntentRecord) -> Result<ChallengeSite, ProcessorError> {
    let processor = operation::processor_of(state, merchant, intent.made_with).await?;
    within(state.processor_timeout, processor.challenge_site(intent.provider_reference.as_deref())).await
}

/// The open challenge behind a challenge address, when Kassa's own page answers it; otherwise the
/// page to show instead: none open, its outcome, or the processor's page (or its answer recorded).
async fn open_at_kassa(state: &AppState, id: &str, session: &str) -> ApiResult<Result<(MerchantId, IntentRecord), Page>> {
    let Some((merchant, intent)) = challenge_intent(state, id, session).await? else { return Ok(Err(Page::Invalid)) };
    if intent.status != IntentStatus::RequiresAction {
        return finished_after(state, &merchant, intent).await.map(Err);
    }
    match site(state, &merchant, &intent).await {
        Ok(ChallengeSite::Kassa) => Ok(Ok((merchant, intent))),
        Ok(elsewhere) => at_processor(state, merchant, intent, elsewhere).await.map(Err),
        Err(e) => Ok(Err(unavailable(&intent, &e))),
    }
}

/// `GET` of the challenge address: Kassa's page, or the processor's.
pub async fn show(state: &AppState, id: &str, session: &str) -> ApiResult<Page> {
    let (merchant, intent) = match open_at_kassa(state, id, session).await? {
        Ok(open) => open,
        Err(page) => return Ok(page),
    };
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

/// Finishes the challenge with the code the cardholder typed on Kassa's page (`None`: they
/// cancelled). A challenge the processor runs is not answered here: the cardholder is sent there.
pub async fn complete(state: &AppState, id: &str, session: &str, code: Option<&str>) -> ApiResult<Page> {
    let (merchant, intent) = match open_at_kassa(state, id, session).await? {
        Ok(open) => open,
        Err(page) => return Ok(page),
    };
    let response = match code {
        Some(code) => Response::Code(code),
        None => Response::Cancelled,
    };
    answer(state, merchant, intent, response).await
}

/// The cardholder is back from the processor's challenge page at Kassa's return address, with
/// what the processor added to it (`query`), which must prove where they come from: first Kassa's
/// own proof, then (at the processor) the processor's.
pub async fn returned(state: &AppState, id: &str, query: &[(String, String)]) -> ApiResult<Page> {
    let proof = query.iter().find(|(name, _)| name == RETURN_PARAM).map_or("", |(_, value)| value.as_str());
    if !return_proof_matches(state, id, proof) {
        return Ok(Page::Invalid);
    }
    let Ok(id) = id.parse::<PaymentIntentId>() else { return Ok(Page::Invalid) };
    let Some((merchant, intent)) = intents::find_any(&state.store, &id).await? else { return Ok(Page::Invalid) };
    if intent.three_ds_session_hash.is_none() {
        return Ok(Page::Invalid);
    }
    let processor = match operation::processor_of(state, &merchant, intent.made_with).await {
        Ok(processor) => processor,
        Err(e) => return Ok(unavailable(&intent, &e)),
    };
    let site = match within(state.processor_timeout, processor.challenge_returned(intent.provider_reference.as_deref(), query)).await {
        Ok(Some(site)) => site,
        Ok(None) => return Ok(Page::Invalid),
        Err(e) => return Ok(unavailable(&intent, &e)),
    };
    if intent.status != IntentStatus::RequiresAction {
        return finished_after(state, &merchant, intent).await;
    }
    at_processor(state, merchant, intent, site).await
}

/// Finishes a challenge that the processor says was answered on its page, without the cardholder
/// (who may have closed the window before coming back): `true` when it settled the intent.
pub async fn resume(state: &AppState, merchant: &MerchantId, intent: IntentRecord) -> ApiResult<bool> {
    if intent.status != IntentStatus::RequiresAction {
        return Ok(false);
    }
    match site(state, merchant, &intent).await {
        Ok(ChallengeSite::Answered(reply)) => {
            answer(state, merchant.clone(), intent, Response::AtProcessor(reply)).await?;
            Ok(true)
        }
        Ok(_) | Err(_) => Ok(false),
    }
}

/// The processor's page, or its answer recorded.
async fn at_processor(state: &AppState, merchant: MerchantId, intent: IntentRecord, site: ChallengeSite) -> ApiResult<Page> {
    match site {
        ChallengeSite::Processor { url } => Ok(Page::Redirect { url }),
        ChallengeSite::Answered(reply) => answer(state, merchant, intent, Response::AtProcessor(reply)).await,
        // The processor plays no page of its own: nothing comes back from it.
        ChallengeSite::Kassa => Ok(Page::Invalid),
    }
}

fn unavailable(intent: &IntentRecord, e: &ProcessorError) -> Page {
    tracing::warn!(intent = %intent.id, error = %e, "could not ask the processor where a 3-D Secure challenge stands");
    Page::Unavailable { opener_origin: intent.opener_origin.clone(), frame_ancestors: intent.frame_ancestors.clone() }
}

/// Records the cardholder's answer: claims the open challenge (only one answer is taken: a second
/// one, a double click on Verify or a second return, waits for the first one's outcome), then
/// authorizes when the authentication passed.
async fn answer(state: &AppState, merchant: MerchantId, intent: IntentRecord, response: Response<'_>) -> ApiResult<Page> {
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
    let authentication = match response {
        Response::Code(code) => {
            let key = op.processor_key("authenticate");
            let processor_token = intent.processor_token.clone().unwrap_or_default();
            let reference = intent.provider_reference.as_deref();
            match operation::processor_of(state, &merchant, intent.made_with).await {
                Ok(processor) => within(state.processor_timeout, processor.authenticate(reference, &processor_token, code, &key)).await,
                Err(e) => Err(e),
            }
        }
        Response::Cancelled => Ok(Reply {
            outcome: Outcome::Declined { decline_code: "authentication_failed".into() },
            response_code: "N".into(),
            response_text: "Cancelled by the cardholder".into(),
            reference: String::new(),
            auth_code: None,
            avs_response: None,
            cvv_response: None,
        }),
        Response::AtProcessor(reply) => Ok(reply),
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
    let succeeded = intent.status.succeeded();
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
