//! The payment flows. Every step that moves money claims its right first, calls the processor
//! only when it won, and records the outcome afterwards (see [`operation`]): of two racing
//! requests one reaches the processor, and a crash in between is settled by the reconciler.

mod charge;
mod lifecycle;
pub mod operation;
pub mod processor_events;
pub mod three_ds;

pub use charge::{charge, confirm, create_intent, create_token, intent_for_client, retry, update_intent};
pub use lifecycle::{adjust_tip, capture, refund, resolve, void};
pub use operation::{reconcile, spawn_reconciler};

use kassa::api::{
    CardInput, CardSummary, IntentStatus, LastError, NextAction, TransactionStatus, TransactionType,
};
use kassa::card::Expiry;
use kassa::id::{CustomerId, MerchantId, PaymentIntentId, PaymentMethodId, TokenId};
use kassa::ErrorCode;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::clock::year_month;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::http::idempotency::IdempotencyKey;
use crate::ids;
use crate::processor::{CardData, Outcome, ProcessorError, Reply};
use serde::{Deserialize, Serialize};
use crate::state::AppState;
use crate::store::customers::{self, StoredMethod};
use crate::store::intents::{self, IntentRecord, NewTransaction};
use crate::store::tokens::{self, StoredToken};
use crate::store::Tx;

/// The largest amount Kassa accepts, in minor units (a hundred million major units at exponent 2).
pub const MAX_AMOUNT_CENTS: i64 = 10_000_000_000;
pub const MAX_TEXT: usize = 255;
const MAX_METADATA_KEYS: usize = 50;

/// One request's view: who it is for, who asks, the idempotency key it runs under, and the
/// address the server is reached at (for links such as the 3-D Secure page).
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub merchant: &'a MerchantId,
    /// The key that asks; `None` for Kassa's own pages (the 3-D Secure page, the demo shop).
    pub caller: Option<&'a Caller>,
    pub key: Option<&'a IdempotencyKey>,
    pub public_base: &'a str,
}

impl Ctx<'_> {
    fn publishable(&self) -> bool {
        self.caller.is_some_and(|c| c.kind == kassa::api::KeyKind::Publishable)
    }

    fn require(&self, permission: kassa::api::Permission) -> ApiResult<()> {
        self.caller.map_or(Ok(()), |c| c.require(permission))
    }
}

/// SHA-256, hex: how client secrets and session secrets are stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored`, compared in constant time.
pub fn secret_matches(secret: &str, stored: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    stored.is_some_and(|stored| bool::from(hash_secret(secret).as_bytes().ct_eq(stored.as_bytes())))
}

fn check_amount(field: &str, amount: i64) -> ApiResult<()> {
    if amount <= 0 || amount > MAX_AMOUNT_CENTS {
        return Err(ApiError::validation(
            field,
            format!("{field} must be a positive whole number of minor units, at most {MAX_AMOUNT_CENTS}"),
        ));
    }
    Ok(())
}

fn check_text(field: &str, value: Option<&String>) -> ApiResult<()> {
    match value {
        Some(v) if v.is_empty() || v.chars().count() > MAX_TEXT => {
            Err(ApiError::validation(field, format!("{field} must be 1 to {MAX_TEXT} characters")))
        }
        _ => Ok(()),
    }
}

fn check_line_items(items: &[kassa::api::LineItem]) -> ApiResult<()> {
    for (i, item) in items.iter().enumerate() {
        if item.name.is_empty() || item.name.chars().count() > MAX_TEXT {
            return Err(ApiError::validation(&format!("lineItems[{i}].name"), "a line item needs a name of 1 to 255 characters"));
        }
        if !(0..=MAX_AMOUNT_CENTS).contains(&item.unit_amount_cents) {
            return Err(ApiError::validation(&format!("lineItems[{i}].unitAmountCents"), "unitAmountCents must be zero or positive"));
        }
        if item.quantity == 0 {
            return Err(ApiError::validation(&format!("lineItems[{i}].quantity"), "quantity must be at least 1"));
        }
    }
    Ok(())
}

fn check_metadata(metadata: &serde_json::Map<String, serde_json::Value>) -> ApiResult<()> {
    if metadata.len() > MAX_METADATA_KEYS || metadata.keys().any(|k| k.is_empty() || k.chars().count() > 40) {
        return Err(ApiError::validation("metadata", "metadata holds at most 50 keys of 1 to 40 characters"));
    }
    Ok(())
}

/// The checks a card's number (already Luhn- and length-checked by parsing) does not cover.
fn check_card(card: &CardInput) -> ApiResult<Expiry> {
    use kassa::card::CardError;
    let expiry = Expiry::new(card.exp_month, card.exp_year, year_month()).map_err(|e| match e {
        CardError::InvalidExpiryMonth => ApiError::validation("card.expMonth", format!("card.expMonth: {e}")),
        _ => ApiError::validation("card.expYear", format!("card.expYear: {e}")),
    })?;
    if let Some(cvc) = &card.cvc {
        cvc.check_for(card.number.brand()).map_err(|e| ApiError::validation("card.cvc", format!("card.cvc: {e}")))?;
    }
    check_text("card.name", card.name.as_ref())?;
    // Postal codes the world over are letters, digits, spaces and dashes.
    let postal = |p: &String| p.len() <= 16 && p.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
    if card.postal_code.as_ref().is_some_and(|p| !postal(p)) {
        return Err(ApiError::validation("card.postalCode", "card.postalCode must be at most 16 letters, digits, spaces or dashes"));
    }
    Ok(expiry)
}

pub(crate) fn processor_failure(e: &ProcessorError) -> ApiError {
    match e {
        ProcessorError::Failed { text, .. } => ApiError::new(ErrorCode::ProviderError, format!("The card processor failed: {text}")),
        ProcessorError::Timeout => ApiError::new(
            ErrorCode::ProviderTimeout,
            "The card processor did not answer in time; the outcome is unknown until reconciled",
        ),
        ProcessorError::Refused { text } => ApiError::invalid_state(text.clone()),
    }
}

/// Hands the card to the processor and returns its token and the card facts Kassa keeps.
async fn tokenize_card(ctx: &Ctx<'_>, card: &CardInput) -> ApiResult<(String, CardSummary)> {
    let expiry = check_card(card)?;
    let tokenized = ctx
        .state
        .processor_for(ctx.merchant)
        .await?
        .tokenize(&CardData { number: &card.number, cvc: card.cvc.as_ref(), expiry, postal_code: card.postal_code.as_deref() })
        .await
        .map_err(|e| processor_failure(&e))?;
    let summary = CardSummary {
        brand: card.number.brand(),
        last4: card.number.last4().to_owned(),
        exp_month: expiry.month,
        exp_year: expiry.year,
        fingerprint: tokenized.fingerprint,
    };
    Ok((tokenized.processor_token, summary))
}

/// Where the money comes from.
enum Source {
    Card { processor_token: String, card: CardSummary },
    Token(StoredToken),
    Saved(StoredMethod),
    /// The card of an earlier, failed payment (a retry).
    Original(Box<IntentRecord>),
}

impl Source {
    fn processor_token(&self) -> &str {
        match self {
            Source::Card { processor_token, .. } => processor_token,
            Source::Token(token) => &token.processor_token,
            Source::Saved(saved) => &saved.processor_token,
            Source::Original(original) => original.processor_token.as_deref().unwrap_or_default(),
        }
    }

    /// Puts the card's facts on the intent (a saved card also names its customer).
    fn describe(&self, intent: &mut IntentRecord) {
        let card = match self {
            Source::Card { card, .. } => Some(card),
            Source::Token(token) => Some(&token.card),
            Source::Saved(saved) => {
                intent.customer_id = Some(saved.method.customer_id.to_string());
                Some(&saved.method.card)
            }
            Source::Original(original) => {
                intent.card_brand = original.card_brand;
                intent.card_last4 = original.card_last4.clone();
                intent.card_fingerprint = original.card_fingerprint.clone();
                intent.card_exp_month = original.card_exp_month;
                intent.card_exp_year = original.card_exp_year;
                None
            }
        };
        if let Some(card) = card {
            intent.card_brand = Some(card.brand);
            intent.card_last4 = Some(card.last4.clone());
            intent.card_fingerprint = Some(card.fingerprint.clone());
            intent.card_exp_month = Some(card.exp_month);
            intent.card_exp_year = Some(card.exp_year);
        }
        intent.payment_method_type = Some("card".into());
        intent.processor_token = Some(self.processor_token().to_owned());
    }

    fn spent_token(&self) -> Option<TokenId> {
        match self {
            Source::Token(token) => Some(token.id.clone()),
            _ => None,
        }
    }
}

pub(crate) const TOKEN_USED: &str = "This card token was already used; tokenize the card again";

/// Uses up a single-use token inside the change that pays with it; a token pays once.
pub(crate) async fn spend_token(tx: &mut Tx, merchant: &MerchantId, token: Option<&TokenId>, now: i64) -> ApiResult<()> {
    match token {
        Some(token) if !tokens::consume(tx, merchant, token, now).await? => Err(ApiError::invalid_state(TOKEN_USED)),
        _ => Ok(()),
    }
}

/// Resolves at most one of a card, a token or a saved card; `None` when none was given.
async fn resolve_source(
    ctx: &Ctx<'_>,
    card: Option<&CardInput>,
    token: Option<&TokenId>,
    saved: Option<&PaymentMethodId>,
) -> ApiResult<Option<Source>> {
    let given = [card.is_some(), token.is_some(), saved.is_some()].iter().filter(|g| **g).count();
    if given > 1 {
        return Err(ApiError::validation("card", "Provide exactly one of card, token or paymentMethodId"));
    }
    if let Some(card) = card {
        let (processor_token, card) = tokenize_card(ctx, card).await?;
        return Ok(Some(Source::Card { processor_token, card }));
    }
    if let Some(id) = token {
        let token = tokens::find(&ctx.state.store, ctx.merchant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("card token").with_details(json!({ "field": "token" })))?;
        if token.used {
            return Err(ApiError::invalid_state(TOKEN_USED));
        }
        return Ok(Some(Source::Token(token)));
    }
    if let Some(id) = saved {
        let saved = customers::find_method(&ctx.state.store, ctx.merchant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("payment method").with_details(json!({ "field": "paymentMethodId" })))?;
        return Ok(Some(Source::Saved(saved)));
    }
    Ok(None)
}

fn decline_message(code: &str) -> &'static str {
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
    kind: TransactionType,
    status: TransactionStatus,
    code: String,
    text: String,
    amount: i64,
    /// The call's own reference, where it is not the payment's.
    reference: Option<String>,
}

impl Step {
    fn from_reply(kind: TransactionType, reply: &Reply, amount: i64) -> Step {
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
            steps.push(Step { kind: TransactionType::Authorize, status: TransactionStatus::Error, code, text, amount: intent.total_cents(), reference: None });
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
    intent.last_error = Some(LastError { code: ErrorCode::CardDeclined, decline_code: Some(decline_code.to_owned()), message: message.into() });
    ApiError::new(ErrorCode::CardDeclined, message).with_details(json!({ "declineCode": decline_code, "paymentIntentId": intent.id }))
}

pub(crate) async fn record_steps(tx: &mut Tx, merchant: &MerchantId, intent: &IntentRecord, steps: &[Step], now: i64) -> Result<(), sqlx::Error> {
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
        };
        intents::insert_transaction(tx, merchant, &call, now).await?;
    }
    Ok(())
}

/// Saves the card just paid with to the intent's customer, when asked to and it succeeded (a
/// saved card is not saved again).
pub(crate) async fn save_card_if_asked(tx: &mut Tx, merchant: &MerchantId, intent: &IntentRecord, now: i64) -> Result<(), sqlx::Error> {
    let paid = matches!(intent.status, IntentStatus::Captured | IntentStatus::Authorized);
    let customer = intent.customer_id.as_deref().and_then(|c| c.parse::<CustomerId>().ok());
    let card = (|| {
        Some(CardSummary {
            brand: intent.card_brand?,
            last4: intent.card_last4.clone()?,
            exp_month: intent.card_exp_month?,
            exp_year: intent.card_exp_year?,
            fingerprint: intent.card_fingerprint.clone()?,
        })
    })();
    let (Some(card), Some(customer), Some(processor_token)) = (card, customer, intent.processor_token.clone()) else {
        return Ok(());
    };
    if !(paid && intent.save_card) {
        return Ok(());
    }
    let method = kassa::api::SavedPaymentMethod {
        id: ids::new(),
        customer_id: customer,
        kind: "card".into(),
        card,
        nickname: None,
        is_default: false,
        created_at: crate::clock::format_ms(now),
    };
    customers::insert_method(tx, merchant, &StoredMethod { method, processor_token }, now).await?;
    Ok(())
}

async fn load(ctx: &Ctx<'_>, id: &PaymentIntentId) -> ApiResult<IntentRecord> {
    intents::find(&ctx.state.store, ctx.merchant, id).await?.ok_or_else(|| ApiError::not_found("payment intent"))
}

fn refused(intent: &IntentRecord, action: &str, allowed: &str) -> ApiError {
    ApiError::invalid_state(format!(
        "A payment that is {} cannot be {action}; only {allowed} payments can",
        intent.status.as_str()
    ))
    .with_details(json!({ "status": intent.status }))
}

/// Decline codes a publishable key is not told: they would tell a card tester which stolen
/// numbers are live. The secret key still sees the real code.
const HIDDEN_DECLINES: &[&str] = &["lost_card", "stolen_card", "fraudulent", "pickup_card", "restricted_card", "merchant_blacklist", "security_violation"];

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
