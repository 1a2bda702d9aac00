//! A deterministic sandbox that behaves like a card network for the well-known test cards.
//!
//! Its token names the behaviour of the card (`sbx_insufficient_funds_…`) rather than holding the
//! number, so nothing about the number outlives the tokenize call. Like a real processor it keeps
//! a ledger of what it did by idempotency key (in memory for the life of the process on SQLite; in
//! the database on PostgreSQL, where every server shares one sandbox as it would share one real
//! processor): the same call with the same key gives the same answer, and [`Processor::lookup`]
//! finds it. The card
//! that "times out" (4000 0000 0000 0408) is approved in the ledger while its caller hears nothing,
//! which is what a reconciler must cope with.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{AuthorizeCall, CardData, Lookup, Outcome, Processor, ProcessorError, Reply, TokenizedCard};
use crate::crypto::Keyring;
use crate::store::{sandbox_ledger, Store};

/// What a test card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Approve,
    Decline(&'static str),
    ProcessingError,
    Timeout,
    ChallengeThenApprove,
    ChallengeThenDecline(&'static str),
    Frictionless,
}

impl Behaviour {
    /// The test cards developers know from Stripe; any other valid number is approved.
    pub fn of(number: &str) -> Behaviour {
        match number {
            // Declined when charged (it may still be saved first: Stripe's `chargeCustomerFail`).
            "4000000000000002" | "4000000000000341" => Behaviour::Decline("generic_decline"),
            "4000000000009995" => Behaviour::Decline("insufficient_funds"),
            "4000000000009987" => Behaviour::Decline("lost_card"),
            "4000000000009979" => Behaviour::Decline("stolen_card"),
            "4000000000000069" => Behaviour::Decline("expired_card"),
            "4000000000000127" => Behaviour::Decline("incorrect_cvc"),
            "4000000000000119" => Behaviour::ProcessingError,
            "4000000000000408" => Behaviour::Timeout,
            "4000002760003184" | "4000000000003220" => Behaviour::ChallengeThenApprove,
            "4000008260003178" => Behaviour::ChallengeThenDecline("insufficient_funds"),
            "4000000000003055" => Behaviour::Frictionless,
            _ => Behaviour::Approve,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Behaviour::Approve => "approve",
            Behaviour::Decline(code) => code,
            Behaviour::ProcessingError => "processing_error",
            Behaviour::Timeout => "timeout",
            Behaviour::ChallengeThenApprove => "challenge",
            Behaviour::ChallengeThenDecline(_) => "challenge_insufficient_funds",
            Behaviour::Frictionless => "frictionless",
        }
    }

    fn from_tag(tag: &str) -> Behaviour {
        [
            Behaviour::Approve,
            Behaviour::Decline("generic_decline"),
            Behaviour::Decline("insufficient_funds"),
            Behaviour::Decline("lost_card"),
            Behaviour::Decline("stolen_card"),
            Behaviour::Decline("expired_card"),
            Behaviour::Decline("incorrect_cvc"),
            Behaviour::ProcessingError,
            Behaviour::Timeout,
            Behaviour::ChallengeThenApprove,
            Behaviour::ChallengeThenDecline("insufficient_funds"),
            Behaviour::Frictionless,
        ]
        .into_iter()
        .find(|b| b.tag() == tag)
        .unwrap_or(Behaviour::Decline("generic_decline"))
    }
}

/// The decline codes' ISO 8583 response codes and texts.
fn decline_response(code: &str) -> (&'static str, &'static str) {
    match code {
        "insufficient_funds" => ("51", "Insufficient funds"),
        "lost_card" => ("41", "Lost card, pick up"),
        "stolen_card" => ("43", "Stolen card, pick up"),
        "expired_card" => ("54", "Expired card"),
        "incorrect_cvc" => ("N7", "CVV2 value mismatch"),
        _ => ("05", "Do not honor"),
    }
}

/// How many calls the ledger remembers before it forgets the oldest.
const LEDGER_SIZE: usize = 200_000;

#[derive(Default)]
struct Ledger {
    replies: HashMap<String, Reply>,
    order: VecDeque<String>,
}

pub struct SandboxProcessor {
    latency: Duration,
    /// The installation's secret for card fingerprints, so a fingerprint cannot be reversed by
    /// trying the possible numbers without it.
    fingerprint_key: [u8; 32],
    ledger: Mutex<Ledger>,
    /// Where the ledger is kept when it is shared.
    shared: Option<Store>,
}

impl SandboxProcessor {
    /// The sandbox of this installation: its fingerprint key is made once, at random, and kept
    /// in the database's settings sealed with the server's encryption key, so that the database
    /// alone cannot be used to try the card numbers against its fingerprints.
    pub async fn for_installation(store: &Store, keyring: &Keyring, latency: Duration) -> Result<SandboxProcessor, sqlx::Error> {
        const NAME: &str = "sandbox_fingerprint_key";
        const CONTEXT: &str = "settings.sandbox_fingerprint_key";
        let fresh = keyring.seal_text(&hex::encode(rand::random::<[u8; 32]>()), CONTEXT);
        let stored = crate::store::settings::get_or_init(store, NAME, &fresh).await?;
        let plain = if Keyring::is_sealed_text(&stored) {
            keyring.open_text(&stored, CONTEXT).map_err(|e| sqlx::Error::Decode(format!("settings.{NAME}: {e}").into()))?
        } else {
            stored.trim().to_owned()
        };
        let key = hex::decode(&plain).ok().and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok());
        let key = key.ok_or_else(|| sqlx::Error::Decode(format!("settings.{NAME} is not 32 bytes of hex").into()))?;
        if !keyring.is_current(&stored) {
            // Kept in clear before, or sealed with a key being rotated out: sealed anew.
            let sealed = keyring.seal_text(&plain, CONTEXT);
            store.write(move |tx| Box::pin(async move { crate::store::settings::set(tx, NAME, &sealed).await })).await?;
        }
        Ok(SandboxProcessor { shared: store.shared(), ..SandboxProcessor::new(latency, key) })
    }

    pub fn new(latency: Duration, fingerprint_key: [u8; 32]) -> SandboxProcessor {
        SandboxProcessor { latency, fingerprint_key, ledger: Mutex::default(), shared: None }
    }

    async fn recorded(&self, key: &str) -> Result<Option<Reply>, ProcessorError> {
        let Some(store) = &self.shared else { return Ok(self.ledger.lock().unwrap_or_else(|e| e.into_inner()).replies.get(key).cloned()) };
        let found = sandbox_ledger::find(store, key).await.map_err(|_| malfunction())?;
        found.map(|json| serde_json::from_str(&json).map_err(|_| malfunction())).transpose()
    }

    /// Records a reply unless the key has one; returns the one recorded, and whether it is this
    /// one (a repeated call gets the first reply, in one step with no read before it).
    async fn record(&self, key: &str, kind: &str, amount_cents: Option<i64>, reply: Reply) -> Result<(Reply, bool), ProcessorError> {
        let Some(store) = &self.shared else {
            let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(first) = ledger.replies.get(key) {
                return Ok((first.clone(), false));
            }
            ledger.replies.insert(key.to_owned(), reply.clone());
            ledger.order.push_back(key.to_owned());
            if ledger.order.len() > LEDGER_SIZE {
                if let Some(oldest) = ledger.order.pop_front() {
                    ledger.replies.remove(&oldest);
                }
            }
            return Ok((reply, true));
        };
        let json = serde_json::to_string(&reply).map_err(|_| malfunction())?;
        let entry = sandbox_ledger::Entry { key, kind, amount_cents, approved: reply.outcome == Outcome::Approved, reply: &json };
        // A write to the shared ledger that fails may still have committed (the connection broke
        // on its way back): whether the card was charged is unknown, as after a lost answer, and
        // the reconciler's lookup finds out.
        let (recorded, fresh) = sandbox_ledger::record(store, &entry, crate::clock::now_ms()).await.map_err(|_| ProcessorError::Timeout)?;
        Ok((serde_json::from_str(&recorded).map_err(|_| malfunction())?, fresh))
    }

    /// Answers a call once per key: a repeat gets the first reply.
    async fn once(&self, key: &str, kind: &str, amount_cents: Option<i64>, call: impl FnOnce() -> Reply) -> Result<Reply, ProcessorError> {
        self.network().await;
        Ok(self.record(key, kind, amount_cents, call()).await?.0)
    }

    async fn network(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

fn malfunction() -> ProcessorError {
    ProcessorError::Failed { code: "96".into(), text: "System malfunction".into() }
}

/// Whether a processor token is the sandbox's.
pub fn is_sandbox_token(token: &str) -> bool {
    token.starts_with("sbx_")
}

/// Parts of a sandbox token: `sbx_<behaviour>_<avs>_<cvv>_<random>`.
struct TokenFacts {
    behaviour: Behaviour,
    avs: String,
    cvv: String,
}

fn read_token(token: &str) -> TokenFacts {
    let parts: Vec<&str> = token.strip_prefix("sbx_").unwrap_or_default().rsplitn(4, '.').collect();
    match parts.as_slice() {
        [_random, cvv, avs, behaviour] => {
            TokenFacts { behaviour: Behaviour::from_tag(behaviour), avs: (*avs).to_owned(), cvv: (*cvv).to_owned() }
        }
        _ => TokenFacts { behaviour: Behaviour::Decline("generic_decline"), avs: "U".into(), cvv: "P".into() },
    }
}

/// A stable reference for one call: twelve digits derived from its idempotency key.
fn reference(kind: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("{kind}:{key}").as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().unwrap_or_default());
    format!("{:012}", n % 1_000_000_000_000)
}

fn auth_code(key: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    Sha256::digest(format!("auth:{key}").as_bytes()).iter().take(6).map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

fn declined(decline_code: &str, response_code: &str, response_text: &str, reference: String) -> Reply {
    Reply {
        outcome: Outcome::Declined { decline_code: decline_code.into() },
        response_code: response_code.into(),
        response_text: response_text.into(),
        reference,
        auth_code: None,
        avs_response: None,
        cvv_response: None,
    }
}

fn approval(reference: String) -> Reply {
    Reply {
        outcome: Outcome::Approved,
        response_code: "00".into(),
        response_text: "Approval".into(),
        reference,
        auth_code: None,
        avs_response: None,
        cvv_response: None,
    }
}

#[async_trait]
impl Processor for SandboxProcessor {
    async fn tokenize(&self, card: &CardData<'_>) -> Result<TokenizedCard, ProcessorError> {
        self.network().await;
        let behaviour = Behaviour::of(card.number.expose());
        // AVS: the sandbox matches any postal code (Z: ZIP matches); U: not verified.
        let avs = if card.postal_code.is_some_and(|p| !p.trim().is_empty()) { "Z" } else { "U" };
        // CVC: M matches, N does not (the incorrect_cvc card), P was not provided.
        let cvv = match (card.cvc, behaviour) {
            (None, _) => "P",
            (Some(_), Behaviour::Decline("incorrect_cvc")) => "N",
            (Some(_), _) => "M",
        };
        let random: String = (0..16).map(|_| char::from(b'a' + rand::random::<u8>() % 26)).collect();
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.fingerprint_key)
            .map_err(|_| ProcessorError::Failed { code: "96".into(), text: "System malfunction".into() })?;
        mac.update(card.number.expose().as_bytes());
        let fingerprint = hex::encode(&mac.finalize().into_bytes()[..8]);
        Ok(TokenizedCard { processor_token: format!("sbx_{}.{avs}.{cvv}.{random}", behaviour.tag()), fingerprint })
    }

    async fn authorize(&self, call: &AuthorizeCall<'_>) -> Result<Reply, ProcessorError> {
        self.network().await;
        let facts = read_token(call.processor_token);
        let reference = reference("authorize", call.idempotency_key);
        let mut reply = match facts.behaviour {
            Behaviour::Approve | Behaviour::Frictionless | Behaviour::Timeout => {
                Reply { auth_code: Some(auth_code(call.idempotency_key)), ..approval(reference) }
            }
            Behaviour::Decline(code) => {
                let (response_code, text) = decline_response(code);
                declined(code, response_code, text, reference)
            }
            Behaviour::ChallengeThenApprove if call.authenticated => {
                Reply { auth_code: Some(auth_code(call.idempotency_key)), ..approval(reference) }
            }
            Behaviour::ChallengeThenDecline(code) if call.authenticated => {
                let (response_code, text) = decline_response(code);
                declined(code, response_code, text, reference)
            }
            Behaviour::ChallengeThenApprove | Behaviour::ChallengeThenDecline(_) => Reply {
                outcome: Outcome::ChallengeRequired,
                response_code: "1A".into(),
                response_text: "Additional customer authentication required".into(),
                reference,
                auth_code: None,
                avs_response: None,
                cvv_response: None,
            },
            Behaviour::ProcessingError => return Err(malfunction()),
        };
        reply.avs_response = Some(facts.avs);
        reply.cvv_response = Some(facts.cvv);
        let kind = if call.capture { "sale" } else { "authorize" };
        let (reply, fresh) = self.record(call.idempotency_key, kind, Some(call.amount_cents), reply).await?;
        if fresh && facts.behaviour == Behaviour::Timeout {
            // Approved, but the answer is lost on its way back (a repeat of the call hears it).
            return Err(ProcessorError::Timeout);
        }
        Ok(reply)
    }

    async fn authenticate(&self, _reference: Option<&str>, _processor_token: &str, code: &str, key: &str) -> Result<Reply, ProcessorError> {
        let reference = reference("authenticate", key);
        // The sandbox issuer's one-time code is 123456.
        let passed = code.trim() == "123456";
        self.once(key, "authenticate", None, || {
            if passed {
                Reply { response_code: "Y".into(), response_text: "Authenticated".into(), ..approval(reference) }
            } else {
                declined("authentication_failed", "N", "Not authenticated", reference)
            }
        })
        .await
    }

    async fn capture(&self, _reference: &str, amount_cents: i64, key: &str) -> Result<Reply, ProcessorError> {
        self.once(key, "capture", Some(amount_cents), || approval(reference("capture", key))).await
    }

    async fn void(&self, _reference: &str, key: &str) -> Result<Reply, ProcessorError> {
        self.once(key, "void", None, || approval(reference("void", key))).await
    }

    async fn refund(&self, _reference: &str, amount_cents: i64, key: &str) -> Result<Reply, ProcessorError> {
        self.once(key, "refund", Some(amount_cents), || approval(reference("refund", key))).await
    }

    async fn adjust_tip(
        &self,
        _reference: &str,
        tip_cents: i64,
        total_cents: i64,
        authorized_cents: i64,
        key: &str,
    ) -> Result<Reply, ProcessorError> {
        // The card networks' tip tolerance: a total up to a fifth above the authorization.
        let most = authorized_cents + authorized_cents / 5;
        if total_cents > most {
            self.network().await;
            return Err(ProcessorError::Refused {
                text: format!(
                    "The sandbox, as card networks do, captures at most a fifth above the {authorized_cents} it authorized ({most}); a tip of {tip_cents} makes {total_cents}. Charge the rest separately"
                ),
            });
        }
        self.once(key, "tip", Some(tip_cents), || approval(reference("tip", key))).await
    }

    async fn lookup(&self, call: &Lookup<'_>) -> Result<Option<Reply>, ProcessorError> {
        self.network().await;
        self.recorded(call.idempotency_key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_facts_round_trip() {
        for behaviour in
            [Behaviour::Approve, Behaviour::Decline("lost_card"), Behaviour::Timeout, Behaviour::ChallengeThenDecline("insufficient_funds")]
        {
            let token = format!("sbx_{}.Z.M.abcdef", behaviour.tag());
            let facts = read_token(&token);
            assert_eq!(facts.behaviour, behaviour);
            assert_eq!((facts.avs.as_str(), facts.cvv.as_str()), ("Z", "M"));
        }
    }

    #[tokio::test]
    async fn a_call_is_answered_once_per_key_and_can_be_looked_up() {
        let sandbox = SandboxProcessor::new(Duration::ZERO, [7; 32]);
        let lookup = |key| Lookup { step: super::super::CallKind::Capture, idempotency_key: key, reference: None, continues: false };
        assert!(sandbox.lookup(&lookup("cap-1")).await.unwrap().is_none());
        let first = sandbox.capture("ref", 100, "cap-1").await.unwrap();
        let again = sandbox.capture("ref", 999, "cap-1").await.unwrap();
        assert_eq!(first.reference, again.reference);
        assert_eq!(sandbox.lookup(&lookup("cap-1")).await.unwrap().unwrap().reference, first.reference);
        // The card that times out was approved all the same.
        let call = AuthorizeCall {
            payment_id: "pi_1",
            processor_token: "sbx_timeout.U.P.abc",
            amount_cents: 100,
            currency: kassa::Currency::USD,
            capture: true,
            authenticated: false,
            reference: None,
            idempotency_key: "auth-1",
            return_url: None,
        };
        assert!(matches!(sandbox.authorize(&call).await, Err(ProcessorError::Timeout)));
        assert_eq!(sandbox.lookup(&lookup("auth-1")).await.unwrap().unwrap().outcome, Outcome::Approved);
        // A repeat of the call hears the answer that was lost.
        assert_eq!(sandbox.authorize(&call).await.unwrap().outcome, Outcome::Approved);
    }

    #[tokio::test]
    async fn fingerprints_are_keyed_by_the_installation_secret() {
        let number = kassa::card::CardNumber::parse("4242424242424242").unwrap();
        let expiry = kassa::card::Expiry { month: 12, year: 2034 };
        let card = CardData { number: &number, cvc: None, expiry, postal_code: None };
        let ours = SandboxProcessor::new(Duration::ZERO, [1; 32]);
        let first = ours.tokenize(&card).await.unwrap().fingerprint;
        assert_eq!(ours.tokenize(&card).await.unwrap().fingerprint, first, "one card, one fingerprint");
        let theirs = SandboxProcessor::new(Duration::ZERO, [2; 32]);
        assert_ne!(theirs.tokenize(&card).await.unwrap().fingerprint, first, "another installation cannot match it");
        // Without the secret, trying the possible numbers does not find the card.
        let mut public = Hmac::<Sha256>::new_from_slice(b"kassa-sandbox-fingerprint").unwrap();
        public.update(b"4242424242424242");
        assert_ne!(hex::encode(&public.finalize().into_bytes()[..8]), first);
    }

    #[test]
    fn references_are_stable_per_key() {
        assert_eq!(reference("capture", "k1"), reference("capture", "k1"));
        assert_ne!(reference("capture", "k1"), reference("capture", "k2"));
        assert_eq!(reference("capture", "k1").len(), 12);
    }
}
