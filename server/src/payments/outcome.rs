//! The processor's answer, recorded: the intent's new state, its history, its events, and
//! what a decline may tell the customer.

use super::context::*;

pub(crate) fn processor_failure(e: &ProcessorError) -> ApiError {
    match e {
        ProcessorError::Failed { text, .. } => ApiError::new(ErrorCode::ProviderError, format!("The card processor failed: {text}")),
        ProcessorError::Timeout => {
            ApiError::new(ErrorCode::ProviderTimeout, "The card processor did not answer in time; the outcome is unknown until reconciled")
        }
        ProcessorError::Refused { text } => ApiError::invalid_state(text.clone()),
    }
}

pub(super) fn decline_message(code: &str) -> &'static str {
    match code {
        "insufficient_funds" => "The card has insufficient funds",
        "expired_card" => "The card has expired",
        "incorrect_cvc" => "The card's security code is incorrect",
        "authentication_failed" => "The card's 3-D Secure authentication failed",
        _ => "The card was declined",
    }
}

/// One processor call to record.
pub(crate) struct Step {
    pub(crate) kind: TransactionType,
    pub(crate) status: TransactionStatus,
    pub(crate) code: String,
    pub(crate) text: String,
    pub(crate) amount: i64,
    /// The call's own reference, where it is not the payment's.
    pub(crate) reference: Option<String>,
}

impl Step {
    pub(super) fn from_reply(kind: TransactionType, reply: &Reply, amount: i64) -> Step {
        let status = match reply.outcome {
            Outcome::Approved => TransactionStatus::Approved,
            Outcome::Declined { .. } => TransactionStatus::Declined,
            Outcome::ChallengeRequired => TransactionStatus::Pending,
        };
        Step { kind, status, code: reply.response_code.clone(), text: reply.response_text.clone(), amount, reference: None }
    }
}

/// How a failed attempt leaves the intent: a payment the shop's server made is `declined` (or
/// `error`) for good; one the customer confirms in a browser goes back to
/// `requires_payment_method`, so they can try another card on the same intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    Final,
    TryAgain,
}

/// Applies an authorization's outcome to the intent and returns the error to answer with, if any.
pub(crate) fn apply_authorization(
    public_base: &str,
    intent: &mut IntentRecord,
    result: &Result<Reply, ProcessorError>,
    capture: bool,
    on_failure: OnFailure,
    steps: &mut Vec<Step>,
) -> Option<ApiError> {
    intent.next_action = None;
    let reply = match result {
        Ok(reply) => reply,
        Err(e) => {
            let error = processor_failure(e);
            intent.status = if on_failure == OnFailure::Final { IntentStatus::Error } else { IntentStatus::RequiresPaymentMethod };
            intent.last_error = Some(LastError { code: error.code, decline_code: None, message: error.message.clone() });
            let (code, text) = match e {
                ProcessorError::Failed { code, text } => (code.clone(), text.clone()),
                ProcessorError::Timeout => ("timeout".into(), "No answer from the processor".into()),
                ProcessorError::Refused { text } => ("refused".into(), text.clone()),
            };
            steps.push(Step {
                kind: TransactionType::Authorize,
                status: TransactionStatus::Error,
                code,
                text,
                amount: intent.total_cents(),
                reference: None,
            });
            return Some(error.with_details(json!({ "paymentIntentId": intent.id })));
        }
    };
    intent.provider_reference = Some(reply.reference.clone());
    intent.auth_code = reply.auth_code.clone();
    intent.avs_response = reply.avs_response.clone().or(intent.avs_response.take());
    intent.cvv_response = reply.cvv_response.clone().or(intent.cvv_response.take());
    match &reply.outcome {
        Outcome::Approved => {
            steps.push(Step::from_reply(TransactionType::Authorize, reply, intent.total_cents()));
            intent.last_error = None;
            if capture {
                intent.status = IntentStatus::Captured;
                intent.captured_amount_cents = intent.total_cents();
                steps.push(Step::from_reply(TransactionType::Capture, reply, intent.total_cents()));
            } else {
                intent.status = IntentStatus::Authorized;
            }
            None
        }
        Outcome::Declined { decline_code } => {
            steps.push(Step::from_reply(TransactionType::Authorize, reply, intent.total_cents()));
            Some(decline(intent, decline_code, on_failure))
        }
        Outcome::ChallengeRequired => {
            steps.push(Step::from_reply(TransactionType::ThreeDs, reply, intent.total_cents()));
            let session = ids::secret("");
            intent.status = IntentStatus::RequiresAction;
            intent.three_ds_session_hash = Some(hash_secret(&session));
            intent.next_action = Some(NextAction {
                kind: "three_ds_challenge".into(),
                url: format!("{public_base}/3ds/{}/challenge?session={session}", intent.id),
                // EMV 3-D Secure window size 03: 500 × 600 pixels.
                challenge_window_size: "03".into(),
            });
            None
        }
    }
}

/// Marks the intent declined (or ready for another card) and returns the `CARD_DECLINED` error.
pub(crate) fn decline(intent: &mut IntentRecord, decline_code: &str, on_failure: OnFailure) -> ApiError {
    let message = decline_message(decline_code);
    intent.status = if on_failure == OnFailure::Final { IntentStatus::Declined } else { IntentStatus::RequiresPaymentMethod };
    intent.last_error =
        Some(LastError { code: ErrorCode::CardDeclined, decline_code: Some(decline_code.to_owned()), message: message.into() });
    ApiError::new(ErrorCode::CardDeclined, message).with_details(json!({ "declineCode": decline_code, "paymentIntentId": intent.id }))
}

pub(crate) async fn record_steps(
    tx: &mut Tx,
    merchant: &MerchantId,
    intent: &IntentRecord,
    steps: &[Step],
    actor: Option<&str>,
    operation: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    for step in steps {
        let call = NewTransaction {
            intent_id: &intent.id,
            kind: step.kind,
            status: step.status,
            amount_cents: step.amount,
            currency: intent.currency,
            provider_reference: step.reference.as_deref().or(intent.provider_reference.as_deref()),
            response_code: &step.code,
            response_text: &step.text,
            created_by: actor,
            operation_id: Some(operation),
        };
        intents::insert_transaction(tx, merchant, &call, now).await?;
    }
    Ok(())
}

/// Decline codes a publishable key is not told: they would tell a card tester which stolen
/// numbers are live. The secret key still sees the real code.
pub(super) const HIDDEN_DECLINES: &[&str] =
    &["lost_card", "stolen_card", "fraudulent", "pickup_card", "restricted_card", "merchant_blacklist", "security_violation"];

/// The decline code as a caller with a publishable key may see it.
pub fn public_decline_code(code: &str, publishable: bool) -> &str {
    if publishable && HIDDEN_DECLINES.contains(&code) {
        "generic_decline"
    } else {
        code
    }
}

/// An error as the caller may see it.
pub fn public_error(error: &ApiError, publishable: bool) -> ApiError {
    let mut shown = ApiError::new(error.code, error.message.clone());
    shown.details = error.details.clone();
    if let Some(code) = shown.details.as_mut().and_then(|d| d.get_mut("declineCode")) {
        if let Some(text) = code.as_str() {
            *code = json!(public_decline_code(text, publishable));
        }
    }
    shown
}

impl IntentRecord {
    /// The intent as the caller may see it: a publishable key is not told hidden decline codes or
    /// the CVC check's result.
    pub fn to_api_for(&self, publishable: bool) -> kassa::api::PaymentIntent {
        let mut api = self.to_api();
        if publishable {
            api.cvv_response = None;
            if let Some(code) = api.last_error.as_mut().and_then(|e| e.decline_code.as_mut()) {
                *code = public_decline_code(code, true).to_owned();
            }
        }
        api
    }
}
