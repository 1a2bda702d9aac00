//! Card processors. Kassa hands a processor the card once (to tokenize it) and afterwards only the
//! processor's token; every call carries an idempotency key derived from the claim that allowed
//! it, so a repeated call never charges twice, and a call whose answer was lost can be looked up.

pub mod recording;
pub mod registry;
pub mod sandbox;
pub mod stripe;

use async_trait::async_trait;
use kassa::card::{CardNumber, Cvc, Expiry};
use kassa::Currency;

/// A card on its way to the processor. It lives for one call and is never stored.
pub struct CardData<'a> {
    pub number: &'a CardNumber,
    pub cvc: Option<&'a Cvc>,
    pub expiry: Expiry,
    pub postal_code: Option<&'a str>,
}

/// The processor's handle for a card, and what it says about the card.
#[derive(Debug, Clone)]
pub struct TokenizedCard {
    pub processor_token: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Approved,
    Declined {
        decline_code: String,
    },
    /// The issuer wants the cardholder to pass a 3-D Secure challenge first.
    ChallengeRequired,
}

/// The processor's answer to one call.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    pub outcome: Outcome,
    pub response_code: String,
    pub response_text: String,
    pub reference: String,
    pub auth_code: Option<String>,
    pub avs_response: Option<String>,
    pub cvv_response: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProcessorError {
    /// The processor answered with a failure of its own.
    #[error("processor error {code}: {text}")]
    Failed { code: String, text: String },
    /// No answer in time: the outcome is unknown until reconciled.
    #[error("processor timed out")]
    Timeout,
    /// The processor cannot do this at all (the text names its limit); nothing was changed.
    #[error("{text}")]
    Refused { text: String },
}

/// The code of the reconciler's finding that the processor has no record of a call.
pub const NOT_PROCESSED: &str = "not_processed";

/// The codes of a [`ProcessorError::Failed`] whose call never reached the processor (so it did
/// nothing there): no connection was made, nothing was sent, or the processor has no record.
pub const NEVER_REACHED: [&str; 4] = ["api_connection_error", "not_sent", "processor_unavailable", NOT_PROCESSED];

impl ProcessorError {
    /// The call never reached the processor: sending it again, with the same idempotency key,
    /// is its first time there.
    pub fn never_reached(&self) -> bool {
        matches!(self, ProcessorError::Failed { code, .. } if NEVER_REACHED.contains(&code.as_str()))
    }
}

pub struct AuthorizeCall<'a> {
    /// Kassa's id for the payment (the intent), for the processor's records.
    pub payment_id: &'a str,
    pub processor_token: &'a str,
    pub amount_cents: i64,
    pub currency: Currency,
    /// Authorize and capture in one call (a sale).
    pub capture: bool,
    /// The cardholder passed 3-D Secure for this payment.
    pub authenticated: bool,
    /// The processor's payment this call goes on with: the one [`Processor::open`] made, or the
    /// one that asked for 3-D Secure. To [`Processor::open`], the payment's latest one, which
    /// this very call may have opened before (its first try never got further).
    pub reference: Option<&'a str>,
    pub idempotency_key: &'a str,
    /// Kassa's address for the cardholder to come back to from a challenge that the processor
    /// runs on its own page (absent when the request named no public address).
    pub return_url: Option<&'a str>,
}

/// Where the cardholder answers a 3-D Secure challenge.
#[derive(Debug, Clone)]
pub enum ChallengeSite {
    /// Kassa's page asks for the one-time code, and [`Processor::authenticate`] checks it (the
    /// sandbox: Kassa plays the issuer).
    Kassa,
    /// The processor's own page: the cardholder is sent there, and comes back to the
    /// authorization's `return_url`.
    Processor { url: String },
    /// The cardholder has answered the processor's page; this is how the authentication ended.
    Answered(Reply),
}

/// The calls an operation makes, by what they do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Authorize,
    Authenticate,
    Capture,
    Void,
    Refund,
    Tip,
}

impl CallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Authorize => "authorize",
            CallKind::Authenticate => "authenticate",
            CallKind::Capture => "capture",
            CallKind::Void => "void",
            CallKind::Refund => "refund",
            CallKind::Tip => "tip",
        }
    }
}

/// A call whose answer was lost, to look up.
pub struct Lookup<'a> {
    pub step: CallKind,
    pub idempotency_key: &'a str,
    /// The payment's reference at the processor, when it has one.
    pub reference: Option<&'a str>,
    /// The call goes on with a payment another call opened (an authorization after 3-D Secure).
    pub continues: bool,
}

#[async_trait]
pub trait Processor: Send + Sync {
    async fn tokenize(&self, card: &CardData<'_>) -> Result<TokenizedCard, ProcessorError>;
    /// Opens the payment an authorization will go on with, before any money moves, and returns
    /// its reference, so that an authorization whose answer is lost can be looked up by it.
    /// Processors that look calls up by their key alone open nothing.
    async fn open(&self, _call: &AuthorizeCall<'_>) -> Result<Option<String>, ProcessorError> {
        Ok(None)
    }
    async fn authorize(&self, call: &AuthorizeCall<'_>) -> Result<Reply, ProcessorError>;
    /// Where the challenge of the payment `reference` is answered, and whether it was.
    async fn challenge_site(&self, _reference: Option<&str>) -> Result<ChallengeSite, ProcessorError> {
        Ok(ChallengeSite::Kassa)
    }
    /// The cardholder came back to Kassa's return address from the processor's challenge page
    /// with `query`: where the challenge stands, or `None` when the query does not prove that the
    /// processor sent them back from this payment's challenge.
    async fn challenge_returned(
        &self,
        _reference: Option<&str>,
        _query: &[(String, String)],
    ) -> Result<Option<ChallengeSite>, ProcessorError> {
        Ok(None)
    }
    /// Checks the one-time code the cardholder typed on Kassa's 3-D Secure page: `Approved` when
    /// it passes, `Declined { authentication_failed }` when it does not.
    async fn authenticate(
        &self,
        reference: Option<&str>,
        processor_token: &str,
        code: &str,
        idempotency_key: &str,
    ) -> Result<Reply, ProcessorError>;
    async fn capture(&self, reference: &str, amount_cents: i64, idempotency_key: &str) -> Result<Reply, ProcessorError>;
    async fn void(&self, reference: &str, idempotency_key: &str) -> Result<Reply, ProcessorError>;
    async fn refund(&self, reference: &str, amount_cents: i64, idempotency_key: &str) -> Result<Reply, ProcessorError>;
    /// Sets the tip, making the payment's total `total_cents` of the `authorized_cents` the card
    /// was authorized for; a total above the authorization follows the processor's own rule.
    async fn adjust_tip(
        &self,
        reference: &str,
        tip_cents: i64,
        total_cents: i64,
        authorized_cents: i64,
        idempotency_key: &str,
    ) -> Result<Reply, ProcessorError>;
    /// What the processor did for the call made with `idempotency_key`: `None` when it never
    /// received that call (so it had no effect).
    async fn lookup(&self, call: &Lookup<'_>) -> Result<Option<Reply>, ProcessorError>;
}
