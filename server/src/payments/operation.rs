//! Claim, then call, then record.
//!
//! Every step that moves money first wins the right to make its processor call in one
//! conditional write (the *claim*: a new intent in `processing`, an intent moved to `processing`,
//! a hold on a paid intent, or a refund reservation) together with an operation row that says
//! what the outcome will change. Only the winner calls the processor, with keys derived from the
//! operation's id. The outcome is recorded (*settled*) in a second transaction that first marks
//! the operation settled, so the live request and the reconciler can race and only one of them
//! writes. When the processor does not answer in time, the operation stays pending and the
//! reconciler settles it by asking the processor what it did.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use kassa::api::{CaptureMethod, Data, IntentStatus, Resolution, ResolutionKind, TransactionStatus, TransactionType};
use kassa::id::{MerchantId, PaymentIntentId};
use kassa::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::context::*;
use super::outcome::{apply_authorization, decline, processor_failure, public_error, record_steps, OnFailure, Step};
use super::sources::save_card_if_asked;
use crate::clock::{format_ms, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::{seal_context, Recorded};
use crate::processor::{AuthorizeCall, CallKind, Lookup, Outcome, Processor, ProcessorError, Reply, NOT_PROCESSED};
use crate::state::AppState;
use crate::store::idempotency::{self, Owner};
use crate::store::intents::{self, IntentRecord, MadeWith};
use crate::store::operations::{self, OperationRow};
use crate::store::Tx;

/// Declined or failed attempts a browser-confirmed intent takes before it is canceled.
pub const MAX_FAILED_ATTEMPTS: i64 = 5;

/// What an operation does, and so what its outcome changes. Stored with the claim.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Plan {
    /// Authorize the intent's total with its card, and capture it too when `capture`.
    Authorize {
        capture: bool,
        on_failure: OnFailure,
        /// The intent was made by this request (answered 201).
        created: bool,
        /// Where the 3-D Secure page is reached, should the issuer ask for it.
        public_base: String,
        /// The failed payment this one retries.
        #[serde(default)]
        retry_of: Option<PaymentIntentId>,
        /// The caller holds a publishable key: its answer says less.
        #[serde(default)]
        publishable: bool,
        /// It pays with the customer's saved card or saves the card, which a publishable key
        /// may do only in the customer's session: a retry must bring it again.
        #[serde(default)]
        in_session: bool,
    },
    /// Check the cardholder's 3-D Secure code, then authorize.
    ThreeDs {
        capture: bool,
        on_failure: OnFailure,
    },
    Capture {
        amount_cents: i64,
    },
    Void {
        amount_cents: i64,
    },
    Refund {
        amount_cents: i64,
        /// Why, as the caller said it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Tip {
        tip_cents: i64,
    },
}

impl Plan {
    fn kind(&self) -> &'static str {
        match self {
            Plan::Authorize { .. } => "authorize",
            Plan::ThreeDs { .. } => "three_ds",
            Plan::Capture { .. } => "capture",
            Plan::Void { .. } => "void",
            Plan::Refund { .. } => "refund",
            Plan::Tip { .. } => "tip",
        }
    }

    fn amount(&self) -> i64 {
        match self {
            Plan::Capture { amount_cents } | Plan::Void { amount_cents } | Plan::Refund { amount_cents, .. } => *amount_cents,
            Plan::Tip { tip_cents } => *tip_cents,
            Plan::Authorize { .. } | Plan::ThreeDs { .. } => 0,
        }
    }
}

/// A claimed operation.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub merchant: MerchantId,
    pub intent_id: PaymentIntentId,
    pub plan: Plan,
    /// The request it answers: whose idempotency key, and the key.
    pub request: Option<(String, String)>,
    /// Who asked for it, as the payment's history shows: a key's id or a user's email.
    pub actor: Option<String>,
    pub created_at: i64,
}

impl Operation {
    pub fn new(ctx: &Ctx<'_>, intent_id: &PaymentIntentId, plan: Plan) -> Operation {
        Operation {
            id: crate::ids::secret("op_"),
            merchant: ctx.merchant.clone(),
            intent_id: intent_id.clone(),
            plan,
            request: ctx.key.map(|k| (k.scope.clone(), k.key.clone())),
            actor: ctx.caller.map(|c| c.label().to_owned()),
            created_at: now_ms(),
        }
    }

    /// The processor's idempotency key for one call of this operation.
    pub fn processor_key(&self, step: &str) -> String {
        format!("{}.{step}", self.id)
    }

    fn row(&self) -> OperationRow {
        OperationRow {
            id: self.id.clone(),
            merchant: self.merchant.clone(),
            intent_id: self.intent_id.clone(),
            kind: self.plan.kind().to_owned(),
            amount_cents: self.plan.amount(),
            plan: serde_json::to_string(&self.plan).unwrap_or_default(),
            api_key_id: self.request.as_ref().map(|(k, _)| k.clone()),
            idempotency_key: self.request.as_ref().map(|(_, k)| k.clone()),
            actor: self.actor.clone(),
            created_at: self.created_at,
        }
    }

    pub fn from_row(row: OperationRow) -> Result<Operation, sqlx::Error> {
        let plan = serde_json::from_str(&row.plan).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok(Operation {
            id: row.id,
            merchant: row.merchant,
            intent_id: row.intent_id,
            plan,
            request: row.api_key_id.zip(row.idempotency_key),
            actor: row.actor,
            created_at: row.created_at,
        })
    }
}

/// What the processor said.
#[derive(Debug, Clone)]
pub enum Answer {
    /// One call: authorize, capture, void, refund or tip.
    Call(Result<Reply, ProcessorError>),
    /// 3-D Secure: the authentication, then the authorization when it passed.
    Challenge { authentication: Result<Reply, ProcessorError>, authorization: Option<Result<Reply, ProcessorError>> },
}

impl Answer {
    /// An authorization the processor made after a challenge, which therefore passed.
    pub fn after_challenge(reference: &str, authorization: Result<Reply, ProcessorError>) -> Answer {
        let authentication = Reply {
            outcome: Outcome::Approved,
            response_code: "Y".into(),
            response_text: "Authenticated".into(),
            reference: reference.to_owned(),
            auth_code: None,
            avs_response: None,
            cvv_response: None,
        };
        Answer::Challenge { authentication: Ok(authentication), authorization: Some(authorization) }
    }

    /// No answer in time: what happened is unknown until the reconciler asks.
    pub fn is_unknown(&self) -> bool {
        let timed_out = |r: &Result<Reply, ProcessorError>| matches!(r, Err(ProcessorError::Timeout));
        match self {
            Answer::Call(result) => timed_out(result),
            Answer::Challenge { authentication, authorization } => {
                timed_out(authentication) || authorization.as_ref().is_some_and(timed_out)
            }
        }
    }
}

/// The processor never received the call (the reconciler's finding).
fn not_processed() -> ProcessorError {
    ProcessorError::Failed { code: NOT_PROCESSED.into(), text: "The processor has no record of this call".into() }
}

/// Whether the outcome of `op` is that its call never reached the processor (the reconciler
/// found no record of it, or no connection was made), so that a retry of its request may send it
/// again ([`retry_unsent`]). A 3-D Secure check needs the cardholder's code, which a retry does
/// not bring: it is settled for good.
fn never_reached(op: &Operation, answer: &Answer) -> bool {
    let unsent = matches!(answer, Answer::Call(Err(e)) if e.never_reached());
    unsent && op.request.is_some() && !matches!(op.plan, Plan::ThreeDs { .. })
}

/// Writes the claim: the request's idempotency key, whatever `claim` writes (which fails when the
/// right to move the money is not this request's), and the operation row, in one transaction.
pub async fn claim<F>(ctx: &Ctx<'_>, op: &Operation, claim: F) -> ApiResult<()>
where
    F: for<'c> FnOnce(&'c mut Tx) -> futures_util::future::BoxFuture<'c, ApiResult<()>> + Send + 'static,
{
    let key = ctx.key.cloned();
    let row = op.row();
    ctx.state
        .store
        .write(move |tx| {
            Box::pin(async move {
                if let Some(key) = &key {
                    key.begin(tx, row.created_at).await?;
                }
                claim(tx).await?;
                operations::insert(tx, &row).await?;
                Ok(())
            })
        })
        .await
}

/// Why a claim on a paid intent failed: something else holds it (retry shortly), or its state
/// no longer allows the change.
pub fn busy_or(intent: &IntentRecord, refused: ApiError) -> ApiError {
    if intent.pending_operation.is_some() || intent.refund_reserved_cents > 0 || intent.status == IntentStatus::Processing {
        ApiError::invalid_state("Another change to this payment is in progress; retry shortly")
            .with_details(json!({ "status": intent.status, "retryable": true }))
    } else {
        refused
    }
}

/// Records the outcome and returns the reply, or, when the outcome is unknown, leaves the
/// operation for the reconciler and says so.
pub async fn finish(state: &AppState, op: Operation, answer: Answer) -> ApiResult<(IntentRecord, Recorded)> {
    if answer.is_unknown() {
        return Err(processor_failure(&ProcessorError::Timeout).with_details(json!({ "paymentIntentId": op.intent_id })));
    }
    settle(state, op, answer).await
}

/// Applies the outcome of `op` in one transaction, unless it was settled already (then the
/// intent as it is now, and the reply that state stands for).
pub async fn settle(state: &AppState, op: Operation, answer: Answer) -> ApiResult<(IntentRecord, Recorded)> {
    let keyring = state.keyring.clone();
    state
        .store
        .write(move |tx| {
            Box::pin(async move {
                let now = now_ms();
                let how = if never_reached(&op, &answer) { operations::Settled::Unsent } else { operations::Settled::Done };
                if !operations::mark_settled(tx, &op.merchant, &op.id, how, now).await? {
                    // The reconciler (or another server) recorded it first: answer with that.
                    let intent = intents::find_in(tx, &op.merchant, &op.intent_id).await?;
                    let reply = reply_for(&op.plan, &intent, failure_of(&intent).as_ref());
                    return Ok((intent, reply));
                }
                let before = intents::find_in(tx, &op.merchant, &op.intent_id).await?;
                let mut intent = before.clone();
                intent.updated_at = now;
                let mut steps = Vec::new();
                let error = apply(&op.plan, &answer, &mut intent, &mut steps);
                match op.plan {
                    Plan::Refund { amount_cents, .. } => intent.refund_reserved_cents -= amount_cents,
                    _ if intent.pending_operation.as_deref() == Some(op.id.as_str()) => intent.pending_operation = None,
                    _ => {}
                }
                intents::save(tx, &op.merchant, &intent).await?;
                record_steps(tx, &op.merchant, &intent, &steps, op.actor.as_deref(), &op.id, now).await?;
                save_card_if_asked(tx, &op.merchant, before.status, &intent, now).await?;
                crate::orders::ledger::intent_changed(tx, &op.merchant, Some((before.status, before.refunded_amount_cents)), &intent, now)
                    .await?;
                if let Plan::Authorize { retry_of: Some(original), .. } = &op.plan {
                    retried(tx, &op.merchant, original, &intent, now).await?;
                }
                let reply = reply_for(&op.plan, &intent, error.as_ref());
                if let Some((scope, key)) = &op.request {
                    let owner = Owner { merchant: &op.merchant, scope, key };
                    let sealed = keyring.seal(&reply.body, seal_context(&owner).as_bytes());
                    idempotency::complete(tx, &owner, reply.status, &sealed).await?;
                }
                Ok::<_, ApiError>((intent, reply))
            })
        })
        .await
}

/// The answer to the request behind an operation, from the intent it left.
fn reply_for(plan: &Plan, intent: &IntentRecord, error: Option<&ApiError>) -> Recorded {
    let publishable = matches!(plan, Plan::Authorize { publishable: true, .. });
    if let Some(error) = error {
        return Recorded::error(&public_error(error, publishable));
    }
    let shown = Data { data: intent.to_api_for(publishable) };
    match plan {
        Plan::Authorize { created: true, .. } => Recorded::created(&shown),
        _ => Recorded::ok(&shown),
    }
}

/// The error a failed attempt left on the intent, as its request would have been answered.
fn failure_of(intent: &IntentRecord) -> Option<ApiError> {
    let failed = matches!(
        intent.status,
        IntentStatus::RequiresPaymentMethod | IntentStatus::Declined | IntentStatus::Error | IntentStatus::Canceled
    );
    let error = intent.last_error.as_ref().filter(|_| failed)?;
    let details = match &error.decline_code {
        Some(code) => json!({ "declineCode": code, "paymentIntentId": intent.id }),
        None => json!({ "paymentIntentId": intent.id }),
    };
    Some(ApiError::new(error.code, error.message.clone()).with_details(details))
}

/// The original of a retry: released, and closed when the retry paid.
async fn retried(
    tx: &mut Tx,
    merchant: &MerchantId,
    original: &PaymentIntentId,
    retry: &IntentRecord,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut record = intents::find_in(tx, merchant, original).await?;
    record.pending_operation = None;
    if retry.status.succeeded() {
        record.status = IntentStatus::Resolved;
        record.resolution = Some(Resolution {
            resolution: ResolutionKind::Resolved,
            reason: Some(format!("Paid by retry {}", retry.id)),
            paid_by_other_means: false,
            other_means_type: None,
            resolved_at: format_ms(now),
        });
        record.updated_at = now;
    }
    intents::save(tx, merchant, &record).await
}

/// Changes `intent` as the outcome says; returns the error the request is answered with, if any.
fn apply(plan: &Plan, answer: &Answer, intent: &mut IntentRecord, steps: &mut Vec<Step>) -> Option<ApiError> {
    let single = |answer: &Answer| match answer {
        Answer::Call(result) => result.clone(),
        Answer::Challenge { .. } => Err(not_processed()),
    };
    match plan {
        Plan::Authorize { capture, on_failure, public_base, .. } => {
            let error = apply_authorization(public_base, intent, &single(answer), *capture, *on_failure, steps);
            count_failure(intent, *on_failure, error.is_some());
            error
        }
        Plan::ThreeDs { capture, on_failure } => {
            let (authentication, authorization) = match answer {
                Answer::Challenge { authentication, authorization } => (authentication.clone(), authorization.clone()),
                Answer::Call(result) => (result.clone(), None),
            };
            let error = match (&authentication, authorization) {
                (Ok(reply), Some(authorization)) if reply.outcome == Outcome::Approved => {
                    steps.push(Step::from_reply(TransactionType::ThreeDs, reply, intent.total_cents()));
                    apply_authorization("", intent, &authorization, *capture, *on_failure, steps)
                }
                (Ok(reply), _) => {
                    steps.push(Step::from_reply(TransactionType::ThreeDs, reply, intent.total_cents()));
                    intent.next_action = None;
                    Some(decline(intent, "authentication_failed", *on_failure))
                }
                (Err(e), _) => {
                    let mut failed = Vec::new();
                    let error = apply_authorization("", intent, &Err(e.clone()), false, *on_failure, &mut failed);
                    steps.extend(failed.into_iter().map(|s| Step { kind: TransactionType::ThreeDs, ..s }));
                    error
                }
            };
            count_failure(intent, *on_failure, error.is_some());
            error
        }
        Plan::Capture { amount_cents } => lifecycle(intent, steps, TransactionType::Capture, *amount_cents, single(answer), |i| {
            i.status = IntentStatus::Captured;
            i.captured_amount_cents = *amount_cents;
        }),
        Plan::Void { amount_cents } => lifecycle(intent, steps, TransactionType::Void, *amount_cents, single(answer), |i| {
            i.status = IntentStatus::Voided;
        }),
        Plan::Refund { amount_cents, .. } => lifecycle(intent, steps, TransactionType::Refund, *amount_cents, single(answer), |i| {
            i.refunded_amount_cents += amount_cents;
            i.status =
                if i.refunded_amount_cents == i.captured_amount_cents { IntentStatus::Refunded } else { IntentStatus::PartiallyRefunded };
        }),
        Plan::Tip { tip_cents } => lifecycle(intent, steps, TransactionType::TipAdjust, *tip_cents, single(answer), |i| {
            i.tip_cents = *tip_cents;
            if i.status == IntentStatus::Captured {
                i.captured_amount_cents = i.amount_cents + i.tip_cents;
            }
        }),
    }
}

/// A browser-confirmed intent counts its failed attempts, and is canceled at the limit (card
/// testing on one intent stops there).
fn count_failure(intent: &mut IntentRecord, on_failure: OnFailure, failed: bool) {
    if !(failed && on_failure == OnFailure::TryAgain && intent.status == IntentStatus::RequiresPaymentMethod) {
        return;
    }
    intent.failed_attempts += 1;
    if intent.failed_attempts >= MAX_FAILED_ATTEMPTS {
        intent.status = IntentStatus::Canceled;
        if let Some(error) = &mut intent.last_error {
            error.message = format!("{}. This payment was canceled after {MAX_FAILED_ATTEMPTS} failed attempts", error.message);
        }
    }
}

/// A capture, void, refund or tip: `change` on approval, an error recorded otherwise.
fn lifecycle(
    intent: &mut IntentRecord,
    steps: &mut Vec<Step>,
    kind: TransactionType,
    amount: i64,
    result: Result<Reply, ProcessorError>,
    change: impl FnOnce(&mut IntentRecord),
) -> Option<ApiError> {
    match result {
        Ok(reply) if reply.outcome == Outcome::Approved => {
            steps.push(Step { reference: Some(reply.reference.clone()), ..Step::from_reply(kind, &reply, amount) });
            change(intent);
            None
        }
        Ok(reply) => {
            steps.push(Step {
                kind,
                status: TransactionStatus::Error,
                code: reply.response_code.clone(),
                text: reply.response_text.clone(),
                amount,
                reference: None,
            });
            Some(
                ApiError::new(ErrorCode::ProviderError, format!("The card processor refused: {}", reply.response_text))
                    .with_details(json!({ "paymentIntentId": intent.id })),
            )
        }
        Err(e) => {
            let (code, text) = match &e {
                ProcessorError::Failed { code, text } => (code.clone(), text.clone()),
                ProcessorError::Timeout => ("timeout".into(), "No answer from the processor".into()),
                ProcessorError::Refused { text } => ("refused".into(), text.clone()),
            };
            steps.push(Step { kind, status: TransactionStatus::Error, code, text, amount, reference: None });
            Some(processor_failure(&e).with_details(json!({ "paymentIntentId": intent.id })))
        }
    }
}

/// The processor a payment was made with (`made`, as recorded on it); a failure to find it is a
/// failed call (nothing was sent).
pub async fn processor_of(state: &AppState, merchant: &MerchantId, made: Option<MadeWith>) -> Result<Arc<dyn Processor>, ProcessorError> {
    state.processor_of_payment(merchant, made).await.map_err(|e| {
        tracing::error!(%merchant, error = ?e.cause.as_deref().unwrap_or(&e.message), "could not load the payment's processor");
        ProcessorError::Failed { code: "processor_unavailable".into(), text: "The payment's card processor could not be reached".into() }
    })
}

/// Authorizes the intent's total with its card under the operation's key. A processor that opens
/// the payment first gets its reference recorded on the intent before the authorization is sent,
/// so that a lost answer can be looked up.
pub async fn authorize(state: &AppState, op: &Operation, intent: &IntentRecord, authenticated: bool) -> Result<Reply, ProcessorError> {
    // The processor the claim recorded: the merchant's when the attempt began, which is also the
    // one that asked for 3-D Secure.
    let processor = processor_of(state, &op.merchant, intent.made_with).await?;
    let processor_token = intent.processor_token.clone().unwrap_or_default();
    let key = op.processor_key("authorize");
    let continued = if authenticated { intent.provider_reference.clone() } else { None };
    let payment_id = intent.id.to_string();
    let return_url = match &op.plan {
        Plan::Authorize { public_base, .. } if !public_base.is_empty() => Some(return_url(state, public_base, &payment_id)),
        _ => None,
    };
    let mut call = AuthorizeCall {
        payment_id: &payment_id,
        processor_token: &processor_token,
        amount_cents: intent.total_cents(),
        currency: intent.currency,
        capture: intent.capture_method == CaptureMethod::Automatic,
        authenticated,
        reference: continued.as_deref(),
        idempotency_key: &key,
        return_url: return_url.as_deref(),
    };
    let opened = if authenticated {
        None
    } else {
        let open = AuthorizeCall { reference: intent.provider_reference.as_deref(), ..call };
        within(state.processor_timeout, processor.open(&open)).await?
    };
    if let Some(reference) = &opened {
        let (merchant, id, op_id, reference) = (op.merchant.clone(), intent.id.clone(), op.id.clone(), reference.clone());
        let recorded = state
            .store
            .write(move |tx| Box::pin(async move { intents::set_reference(tx, &merchant, &id, &op_id, &reference).await }))
            .await;
        if !matches!(recorded, Ok(true)) {
            return Err(ProcessorError::Failed {
                code: "not_sent".into(),
                text: "The payment could not be recorded before its authorization".into(),
            });
        }
        call.reference = opened.as_deref();
    }
    within(state.processor_timeout, processor.authorize(&call)).await
}

/// Why a retry found its operation's payment no longer as the finding left it.
const NOT_REOPENED: &str = "The payment changed since its call failed to reach the processor";

/// A retry of a request whose operation never reached the processor (the reconciler found no
/// record of its call, after the server that claimed it stopped): the operation runs again under
/// its own claim and id, so the processor's idempotency keys are the first call's, and the retry
/// is answered with its outcome. `None` when the request's key has no such operation, or the
/// payment changed since (then the recorded reply stands). The retry is checked as its request
/// was: the caller's permission now, and a publishable key's customer session (`customer_session`)
/// where the request needed one.
pub async fn retry_unsent(
    state: &AppState,
    key: &IdempotencyKey,
    caller: &Caller,
    customer_session: Option<&str>,
) -> ApiResult<Option<Recorded>> {
    let Some((row, found_at)) = operations::find_unsent(&state.store, &key.merchant, &key.scope, &key.key).await? else { return Ok(None) };
    let op = Operation::from_row(row)?;
    let permission = match &op.plan {
        Plan::ThreeDs { .. } => return Ok(None),
        Plan::Authorize { publishable: true, in_session, .. } => {
            if *in_session {
                let intent =
                    intents::find(&state.store, &op.merchant, &op.intent_id).await?.ok_or_else(|| ApiError::not_found("payment intent"))?;
                let holder = match customer_session {
                    Some(secret) => customers::session_customer(&state.store, &op.merchant, &hash_secret(secret), now_ms()).await?,
                    None => None,
                };
                if holder.is_none() || holder.map(|c| c.to_string()) != intent.customer_id {
                    return Err(ApiError::forbidden(
                        "Paying with a saved card, or saving one, needs the customer's live session in the Kassa-Customer-Session header",
                    ));
                }
            }
            None
        }
        Plan::Authorize { .. } | Plan::Capture { .. } | Plan::Tip { .. } => Some(kassa::api::Permission::TransactionsCreate),
        Plan::Void { .. } | Plan::Refund { .. } => Some(kassa::api::Permission::TransactionsVoid),
    };
    if let Some(permission) = permission {
        caller.require(permission)?;
    }
    let (reopened, key) = (op.clone(), key.clone());
    let intent = state
        .store
        .write(move |tx| {
            Box::pin(async move {
                let op = reopened;
                let before = intents::find_in(tx, &op.merchant, &op.intent_id).await?;
                // Only as the finding left it: anything done to the payment since stands.
                if before.updated_at != found_at || before.pending_operation.is_some() {
                    return Ok(None);
                }
                let now = now_ms();
                // Another retry of the same request may be reopening it at this moment: one wins.
                if !operations::reopen(tx, &op.merchant, &op.id, now).await?
                    || !idempotency::reopen(tx, &key.owner(), &key.fingerprint, now).await?
                {
                    return Err(crate::idempotency::still_running());
                }
                // The claim again, under the conditions it was first made on.
                let claimed = match &op.plan {
                    Plan::Authorize { on_failure, retry_of, .. } => {
                        let open = matches!(before.status, IntentStatus::Error | IntentStatus::RequiresPaymentMethod);
                        let original_held = match retry_of {
                            Some(original) if open => intents::claim_hold(tx, &op.merchant, original, intents::Hold::Retry, &op.id).await?,
                            _ => open,
                        };
                        if original_held {
                            let mut intent = before.clone();
                            if *on_failure == OnFailure::TryAgain {
                                intent.failed_attempts = (intent.failed_attempts - 1).max(0);
                            }
                            intent.status = IntentStatus::Processing;
                            intent.last_error = None;
                            intent.next_action = None;
                            intent.pending_operation = Some(op.id.clone());
                            intent.updated_at = now;
                            intents::save(tx, &op.merchant, &intent).await?;
                            crate::orders::ledger::intent_changed(
                                tx,
                                &op.merchant,
                                Some((before.status, before.refunded_amount_cents)),
                                &intent,
                                now,
                            )
                            .await?;
                        }
                        original_held
                    }
                    Plan::Refund { amount_cents, .. } => intents::reserve_refund(tx, &op.merchant, &op.intent_id, *amount_cents).await?,
                    Plan::Capture { .. } => intents::claim_hold(tx, &op.merchant, &op.intent_id, intents::Hold::Capture, &op.id).await?,
                    Plan::Void { .. } => intents::claim_hold(tx, &op.merchant, &op.intent_id, intents::Hold::Void, &op.id).await?,
                    Plan::Tip { .. } => {
                        intents::claim_hold(tx, &op.merchant, &op.intent_id, intents::Hold::Tip { tip: before.tip_cents }, &op.id).await?
                    }
                    Plan::ThreeDs { .. } => false,
                };
                if !claimed {
                    // Rolls the reopening back: the recorded reply stands.
                    return Err(ApiError::invalid_state(NOT_REOPENED));
                }
                let intent = intents::find_in(tx, &op.merchant, &op.intent_id).await?;
                Ok(Some(intent))
            })
        })
        .await;
    let intent = match intent {
        Err(e) if e.code == ErrorCode::InvalidState && e.message == NOT_REOPENED => return Ok(None),
        other => other?,
    };
    let Some(intent) = intent else { return Ok(None) };
    tracing::info!(operation = %op.id, "running again an operation the processor never received, for a retry of its request");
    let answer = call(state, &op, &intent).await;
    Ok(Some(finish(state, op, answer).await?.1))
}

/// Makes the processor call of a claimed operation (not a 3-D Secure check: that one needs the
/// cardholder's code).
async fn call(state: &AppState, op: &Operation, intent: &IntentRecord) -> Answer {
    if let Plan::Authorize { .. } = op.plan {
        return Answer::Call(authorize(state, op, intent, false).await);
    }
    Answer::Call(match processor_of(state, &op.merchant, intent.made_with).await {
        Ok(processor) => change(state, processor.as_ref(), op, intent).await,
        Err(e) => Err(e),
    })
}

/// Asks `processor` for the change a claimed capture, void, refund or tip makes to `intent`,
/// under the operation's key, within the processor timeout.
pub(super) async fn change(
    state: &AppState,
    processor: &dyn Processor,
    op: &Operation,
    intent: &IntentRecord,
) -> Result<Reply, ProcessorError> {
    let reference = intent.provider_reference.as_deref().unwrap_or_default();
    let key = op.processor_key(step_of(&op.plan).as_str());
    let limit = state.processor_timeout;
    match op.plan {
        Plan::Capture { amount_cents } => within(limit, processor.capture(reference, amount_cents, &key)).await,
        Plan::Void { .. } => within(limit, processor.void(reference, &key)).await,
        Plan::Refund { amount_cents, .. } => within(limit, processor.refund(reference, amount_cents, &key)).await,
        Plan::Tip { tip_cents } => {
            // A tip is measured against what the card was authorized for.
            let authorized = match intents::authorized_amount(&state.store, &op.merchant, &op.intent_id).await {
                Ok(authorized) => authorized.unwrap_or(intent.total_cents()),
                Err(_) => {
                    return Err(ProcessorError::Failed {
                        code: "not_sent".into(),
                        text: "The payment's authorization could not be read".into(),
                    })
                }
            };
            within(limit, processor.adjust_tip(reference, tip_cents, intent.amount_cents + tip_cents, authorized, &key)).await
        }
        Plan::Authorize { .. } | Plan::ThreeDs { .. } => Err(not_processed()),
    }
}

/// Asks the processor what it did for a pending operation; `None` when it cannot say now.
async fn ask(state: &AppState, op: &Operation) -> Option<Answer> {
    let intent = intents::find(&state.store, &op.merchant, &op.intent_id).await.ok()??;
    let processor = processor_of(state, &op.merchant, intent.made_with).await.ok()?;
    let reference = intent.provider_reference.as_deref();
    let lookup = |step: CallKind, continues: bool| {
        let processor = processor.clone();
        let key = op.processor_key(step.as_str());
        async move {
            let call = Lookup { step, idempotency_key: &key, reference, continues };
            tokio::time::timeout(state.processor_timeout, processor.lookup(&call)).await.ok()?.ok()
        }
    };
    Some(match &op.plan {
        Plan::ThreeDs { .. } => match lookup(CallKind::Authorize, true).await? {
            // Authorized, so the authentication before it passed.
            Some(authorization) => Answer::after_challenge("", Ok(authorization)),
            None => match lookup(CallKind::Authenticate, true).await? {
                Some(reply) if reply.outcome == Outcome::Approved => {
                    Answer::Challenge { authentication: Ok(reply), authorization: Some(Err(not_processed())) }
                }
                Some(reply) => Answer::Challenge { authentication: Ok(reply), authorization: None },
                None => Answer::Challenge { authentication: Err(not_processed()), authorization: None },
            },
        },
        plan => Answer::Call(lookup(step_of(plan), false).await?.ok_or_else(not_processed)),
    })
}

/// The processor call an operation makes (3-D Secure makes two).
fn step_of(plan: &Plan) -> CallKind {
    match plan {
        Plan::Authorize { .. } | Plan::ThreeDs { .. } => CallKind::Authorize,
        Plan::Capture { .. } => CallKind::Capture,
        Plan::Void { .. } => CallKind::Void,
        Plan::Refund { .. } => CallKind::Refund,
        Plan::Tip { .. } => CallKind::Tip,
    }
}

/// How many of one merchant's operations one reconciler round asks about.
const PER_MERCHANT_PER_ROUND: i64 = 10;
/// How many operations one round asks about in all.
const PER_ROUND: i64 = 100;
/// How many lookups one round runs at once.
const LOOKUPS_AT_ONCE: usize = 8;

/// Settles operations pending since before `older_than` ago by asking the processor; returns how
/// many it settled. Operations the processor cannot answer for now wait for a later round (after
/// their backoff). No merchant starves another: operations are taken in turns across merchants,
/// a few of each per round, several lookups run at once, and the round asks nothing new once
/// twice the processor timeout has passed, so a processor that hangs holds up its own merchant's
/// operations and nobody else's.
pub async fn reconcile(state: &AppState, older_than: Duration) -> Result<usize, ApiError> {
    let before = now_ms() - older_than.as_millis() as i64;
    // More than one round asks about, so that operations waiting out their backoff leave room
    // for the next ones of the same merchant.
    let rows = operations::pending_in_turns(&state.store, before, PER_ROUND, 5 * PER_ROUND).await?;
    let ops = rows.into_iter().map(Operation::from_row).collect::<Result<Vec<_>, _>>()?;
    let mut asked_of: std::collections::HashMap<MerchantId, i64> = std::collections::HashMap::new();
    let due: Vec<Operation> = ops
        .into_iter()
        .filter(|op| state.reconcile_backoff.is_due(&op.id))
        .filter(|op| {
            let asked = asked_of.entry(op.merchant.clone()).or_default();
            *asked += 1;
            *asked <= PER_MERCHANT_PER_ROUND
        })
        .take(PER_ROUND as usize)
        .collect();
    let deadline = tokio::time::Instant::now() + state.processor_timeout.saturating_mul(2);
    let settled = futures_util::stream::iter(due)
        .map(|op| async move {
            if tokio::time::Instant::now() >= deadline {
                // Not asked this round: the next one asks, with no backoff for it.
                return false;
            }
            let answer = tokio::time::timeout_at(deadline, ask(state, &op)).await.ok().flatten().filter(|a| !a.is_unknown());
            let Some(answer) = answer else {
                state.reconcile_backoff.failed(&op.id);
                return false;
            };
            let id = op.id.clone();
            match settle(state, op, answer).await {
                Ok(_) => {
                    state.reconcile_backoff.settled(&id);
                    true
                }
                Err(e) => {
                    tracing::error!(operation = %id, error = ?e.cause.as_deref().unwrap_or(&e.message), "could not settle an operation");
                    false
                }
            }
        })
        .buffer_unordered(LOOKUPS_AT_ONCE)
        .filter(|settled| std::future::ready(*settled))
        .count()
        .await;
    Ok(settled)
}

/// Runs the reconciler and the purge of old idempotency rows until the process ends.
pub fn spawn_reconciler(state: AppState, every: Duration, older_than: Duration) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = reconcile(&state, older_than).await {
                tracing::error!(error = ?e.cause.as_deref().unwrap_or(&e.message), "reconciler round failed");
            }
            if let Err(e) = purge_replies(&state, now_ms()).await {
                tracing::error!(error = %e, "could not purge old idempotency keys");
            }
            if let Some(shared) = state.store.shared() {
                // Buckets full for a minute count nothing any more.
                if let Err(e) = crate::store::rate_limits::purge(&shared, (now_ms() - 60_000) * 1000).await {
                    tracing::warn!(error = %e, "could not purge rate-limit buckets");
                }
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// Forgets replies kept longer than a day (as of `now`).
pub async fn purge_replies(state: &AppState, now: i64) -> Result<u64, sqlx::Error> {
    let before = now - crate::idempotency::KEEP_MS;
    state.store.write(move |tx| Box::pin(async move { idempotency::purge(tx, before).await })).await
}
