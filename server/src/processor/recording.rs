//! A processor for tests: it wraps another (the sandbox) and writes down every effect that
//! reached it, so a test can compare what the processor did with what the books say.
//!
//! An effect is counted once per idempotency key, as a real processor counts it: the same call
//! repeated with the same key is the same charge. It can also be told to go silent after its next
//! effect (the call is made, its answer never comes back), which is how a crash between claim and
//! outcome looks from the server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{AuthorizeCall, CallKind, CardData, Lookup, Outcome, Processor, ProcessorError, Reply, TokenizedCard};

/// One approved call that moved money (or changed what will).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    /// `authorize`, `sale`, `capture`, `void`, `refund` or `tip`.
    pub kind: &'static str,
    pub idempotency_key: String,
    pub amount_cents: i64,
    /// The payment's reference at the processor (for an authorization, the one it made).
    pub reference: String,
}

pub struct RecordingProcessor {
    inner: Arc<dyn Processor>,
    effects: Mutex<Vec<Effect>>,
    silent_after_next: AtomicBool,
    silent_before_next: AtomicBool,
}

impl RecordingProcessor {
    pub fn new(inner: Arc<dyn Processor>) -> RecordingProcessor {
        RecordingProcessor {
            inner,
            effects: Mutex::default(),
            silent_after_next: AtomicBool::new(false),
            silent_before_next: AtomicBool::new(false),
        }
    }

    /// Every effect so far, in the order they happened.
    pub fn effects(&self) -> Vec<Effect> {
        self.effects.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The effects of one kind.
    pub fn effects_of(&self, kind: &str) -> Vec<Effect> {
        self.effects().into_iter().filter(|e| e.kind == kind).collect()
    }

    /// The next call that moves money is made, and then its caller waits forever.
    pub fn go_silent_after_next_effect(&self) {
        self.silent_after_next.store(true, Ordering::SeqCst);
    }

    /// The next call that would move money never reaches the processor, and its caller waits
    /// forever (the network failed on the way there).
    pub fn go_silent_before_next_effect(&self) {
        self.silent_before_next.store(true, Ordering::SeqCst);
    }

    /// Stops a call that may move money here, when told to.
    async fn money_call(&self) {
        if self.silent_before_next.swap(false, Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }

    /// Writes the effect down (once per key) and then answers, or goes silent when told to.
    async fn effect(
        &self,
        kind: &'static str,
        key: &str,
        amount_cents: i64,
        result: Result<Reply, ProcessorError>,
    ) -> Result<Reply, ProcessorError> {
        // The sandbox's timeout card is approved while its answer is lost: an effect all the same.
        let approved = match &result {
            Ok(reply) => Some(reply.outcome == Outcome::Approved).filter(|a| *a).map(|_| reply.reference.clone()),
            Err(ProcessorError::Timeout) => {
                let lookup = Lookup { step: CallKind::Authorize, idempotency_key: key, reference: None, continues: false };
                self.inner.lookup(&lookup).await.ok().flatten().filter(|r| r.outcome == Outcome::Approved).map(|r| r.reference)
            }
            Err(_) => None,
        };
        if let Some(reference) = approved {
            let mut effects = self.effects.lock().unwrap_or_else(|e| e.into_inner());
            if !effects.iter().any(|e| e.idempotency_key == key) {
                effects.push(Effect { kind, idempotency_key: key.to_owned(), amount_cents, reference });
            }
        }
        if self.silent_after_next.swap(false, Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        result
    }
}

#[async_trait]
impl Processor for RecordingProcessor {
    async fn tokenize(&self, card: &CardData<'_>) -> Result<TokenizedCard, ProcessorError> {
        self.inner.tokenize(card).await
    }

    async fn authorize(&self, call: &AuthorizeCall<'_>) -> Result<Reply, ProcessorError> {
        self.money_call().await;
        let result = self.inner.authorize(call).await;
        let kind = if call.capture { "sale" } else { "authorize" };
        self.effect(kind, call.idempotency_key, call.amount_cents, result).await
    }

    async fn open(&self, call: &AuthorizeCall<'_>) -> Result<Option<String>, ProcessorError> {
        self.inner.open(call).await
    }

    async fn authenticate(
        &self,
        reference: Option<&str>,
        processor_token: &str,
        code: &str,
        idempotency_key: &str,
    ) -> Result<Reply, ProcessorError> {
        self.inner.authenticate(reference, processor_token, code, idempotency_key).await
    }

    async fn capture(&self, reference: &str, amount_cents: i64, idempotency_key: &str) -> Result<Reply, ProcessorError> {
        self.money_call().await;
        let result = self.inner.capture(reference, amount_cents, idempotency_key).await;
        self.effect("capture", idempotency_key, amount_cents, result).await
    }

    async fn void(&self, reference: &str, idempotency_key: &str) -> Result<Reply, ProcessorError> {
        self.money_call().await;
        let result = self.inner.void(reference, idempotency_key).await;
        self.effect("void", idempotency_key, 0, result).await
    }

    async fn refund(&self, reference: &str, amount_cents: i64, idempotency_key: &str) -> Result<Reply, ProcessorError> {
        self.money_call().await;
        let result = self.inner.refund(reference, amount_cents, idempotency_key).await;
        self.effect("refund", idempotency_key, amount_cents, result).await
    }

    async fn adjust_tip(
        &self,
        reference: &str,
        tip_cents: i64,
        total_cents: i64,
        authorized_cents: i64,
        idempotency_key: &str,
    ) -> Result<Reply, ProcessorError> {
        self.money_call().await;
        let result = self.inner.adjust_tip(reference, tip_cents, total_cents, authorized_cents, idempotency_key).await;
        self.effect("tip", idempotency_key, tip_cents, result).await
    }

    async fn lookup(&self, call: &Lookup<'_>) -> Result<Option<Reply>, ProcessorError> {
        self.inner.lookup(call).await
    }
}
