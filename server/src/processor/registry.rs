//! Each merchant's processor: the sandbox unless the merchant chose a connector. A connector's
//! credentials are sealed with the server's encryption key, one version per choice the merchant
//! made, and opened only to build the connector. A payment names the version it was made with and
//! stays with it: a new choice adds a version, and the old ones are kept while payments name them.
//! Servers keep which version is a merchant's current one for a few seconds, so a change made on
//! one server reaches the others that quickly; a version never changes, so what was built for it
//! is kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kassa::api::ProcessorKind;
use kassa::id::MerchantId;
use kassa::ErrorCode;
use serde::{Deserialize, Serialize};

use super::stripe::{self, StripeProcessor};
use super::Processor;
use crate::crypto::Keyring;
use crate::error::{ApiError, ApiResult};
pub use crate::store::processors::MadeWith;
use crate::store::processors::{self, ProcessorRow};
use crate::store::{Store, Tx};

/// How long a server trusts what it read of a merchant's current processor.
const KEEP: Duration = Duration::from_secs(3);

/// How long retired credentials are kept even when no payment names them: longer than any
/// server may still take them for the current ones, and than a payment takes from choosing its
/// processor to recording it.
const RETIRED_KEPT_MS: i64 = 60 * 60 * 1000;

/// A connector's credentials, as sealed in one version.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    pub secret_key: String,
    #[serde(default)]
    pub webhook_secret: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(…)")
    }
}

impl Credentials {
    /// The secret key's first and last characters, to recognise it by.
    pub fn hint(&self) -> String {
        let key = &self.secret_key;
        let head = match key.splitn(3, '_').collect::<Vec<_>>().as_slice() {
            [kind, mode, _] => format!("{kind}_{mode}_"),
            _ => String::new(),
        };
        format!("{head}…{}", key.get(key.len().saturating_sub(4)..).unwrap_or_default())
    }
}

/// What credentials are sealed for: the merchant (every version of theirs).
fn context(merchant: &MerchantId) -> String {
    format!("merchants.processor_credentials:{merchant}")
}

/// The credentials as kept: sealed JSON.
pub fn seal(keyring: &Keyring, merchant: &MerchantId, credentials: Option<&Credentials>) -> Option<String> {
    credentials.map(|c| keyring.seal_text(&serde_json::to_string(c).unwrap_or_default(), &context(merchant)))
}

/// Makes `kind` `merchant`'s processor for new payments, with its sealed credentials (see
/// [`seal`]) as a new version; returns the version. Credentials retired long ago that no
/// payment names are forgotten.
pub async fn save(
    tx: &mut Tx,
    merchant: &MerchantId,
    kind: ProcessorKind,
    sealed: Option<&str>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let version = processors::set(tx, merchant, kind.as_str(), sealed, now).await?;
    processors::forget_unused(tx, merchant, now - RETIRED_KEPT_MS).await?;
    Ok(version)
}

/// A merchant's processor row; the sandbox when it names none.
async fn row_of(store: &Store, merchant: &MerchantId) -> Result<ProcessorRow, sqlx::Error> {
    Ok(processors::find(store, merchant)
        .await?
        .unwrap_or(ProcessorRow { processor: ProcessorKind::Sandbox.as_str().into(), version: None }))
}

fn kind_of(merchant: &MerchantId, name: &str) -> ApiResult<ProcessorKind> {
    ProcessorKind::parse(name).ok_or_else(|| ApiError::internal(format!("merchant {merchant} names an unknown processor")))
}

fn open(keyring: &Keyring, merchant: &MerchantId, sealed: &str) -> ApiResult<Credentials> {
    let json = keyring
        .open_text(sealed, &context(merchant))
        .map_err(|e| ApiError::internal(format!("processor credentials of {merchant}: {e}")))?;
    serde_json::from_str::<Credentials>(&json).map_err(|e| ApiError::internal(format!("processor credentials of {merchant}: {e}")))
}

/// The credentials of one version, for the processor `kind`.
async fn version_of(store: &Store, keyring: &Keyring, merchant: &MerchantId, kind: ProcessorKind, version: i64) -> ApiResult<Credentials> {
    let (named, sealed) = processors::find_version(store, merchant, version)
        .await?
        .ok_or_else(|| ApiError::internal(format!("merchant {merchant} has no processor credentials version {version}")))?;
    if kind_of(merchant, &named)? != kind {
        return Err(ApiError::internal(format!("processor credentials version {version} of {merchant} are for {named}")));
    }
    open(keyring, merchant, &sealed)
}

/// A merchant's processor now: its kind and opened credentials.
pub async fn load(store: &Store, keyring: &Keyring, merchant: &MerchantId) -> ApiResult<(ProcessorKind, Option<Credentials>)> {
    let row = row_of(store, merchant).await?;
    let kind = kind_of(merchant, &row.processor)?;
    let credentials = match row.version {
        Some(version) => Some(version_of(store, keyring, merchant, kind, version).await?),
        None => None,
    };
    Ok((kind, credentials))
}

/// A Stripe webhook signing secret, and the versions of credentials whose payments an event it
/// signs may be about.
pub struct WebhookSecret {
    pub secret: String,
    pub versions: Vec<i64>,
}

/// The webhook signing secrets `merchant`'s Stripe events are checked with, the newest first:
/// one per Stripe secret key still kept (Stripe goes on telling about payments made with an
/// account the merchant has left), the newest that key came with. A webhook secret replaced
/// under the same secret key (rotated, say after a leak) signs nothing any more, and a secret
/// vouches only for the payments made with its own key.
pub async fn stripe_webhook_secrets(store: &Store, keyring: &Keyring, merchant: &MerchantId) -> ApiResult<Vec<WebhookSecret>> {
    let mut secrets: Vec<(String, WebhookSecret)> = Vec::new();
    for (version, named, sealed) in processors::versions(store, merchant).await? {
        if ProcessorKind::parse(&named) != Some(ProcessorKind::Stripe) {
            continue;
        }
        let credentials = match open(keyring, merchant, &sealed) {
            Ok(credentials) => credentials,
            Err(e) => {
                // One unreadable version takes nothing from the others.
                tracing::warn!(%merchant, version, error = %e.message, "could not open Stripe credentials");
                continue;
            }
        };
        match secrets.iter_mut().find(|(key, _)| *key == credentials.secret_key) {
            Some((_, newer)) => newer.versions.push(version),
            None => {
                let Some(secret) = credentials.webhook_secret.clone() else { continue };
                secrets.push((credentials.secret_key.clone(), WebhookSecret { secret, versions: vec![version] }));
            }
        }
    }
    Ok(secrets.into_iter().map(|(_, secret)| secret).collect())
}

/// Seals every version of every merchant's processor credentials again under the current key
/// (after a rotation); returns how many it sealed.
pub async fn reseal_all(store: &Store, keyring: &Keyring) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let mut sealed = 0;
    for (merchant, version, old) in processors::all_sealed(store).await? {
        if keyring.is_current(&old) {
            continue;
        }
        let plain = keyring.open_text(&old, &context(&merchant))?;
        let new = keyring.seal_text(&plain, &context(&merchant));
        store.write(move |tx| Box::pin(async move { processors::reseal(tx, &merchant, version, &old, &new).await })).await?;
        sealed += 1;
    }
    Ok(sealed)
}

/// What a server read of a merchant's current processor, and when.
struct Current {
    at: Instant,
    row: ProcessorRow,
}

/// Builds and keeps each merchant's processors: the current one, and one per version of
/// credentials that payments were made with.
pub struct Processors {
    sandbox: Arc<dyn Processor>,
    stripe_api_base: String,
    http: OnceLock<stripe::HttpClient>,
    current: Mutex<HashMap<MerchantId, Current>>,
    built: Mutex<HashMap<(MerchantId, i64), Arc<dyn Processor>>>,
}

impl Processors {
    pub fn new(sandbox: Arc<dyn Processor>, stripe_api_base: &str) -> Processors {
        Processors {
            sandbox,
            stripe_api_base: stripe_api_base.to_owned(),
            http: OnceLock::new(),
            current: Mutex::default(),
            built: Mutex::default(),
        }
    }

    pub fn sandbox(&self) -> &Arc<dyn Processor> {
        &self.sandbox
    }

    /// A Stripe connector with `secret_key`, on the client every merchant's connector shares.
    pub fn stripe(&self, secret_key: &str) -> StripeProcessor {
        StripeProcessor::new(&self.stripe_api_base, secret_key, self.http.get_or_init(stripe::http_client).clone())
    }

    /// The origins whose pages a 3-D Secure challenge window may show (Kassa's own aside).
    pub fn challenge_origins(&self) -> Vec<String> {
        stripe::challenge_origins(&self.stripe_api_base)
    }

    /// The processor `merchant`'s new payments go to now, and what a payment made with it records.
    pub async fn for_merchant(&self, store: &Store, keyring: &Keyring, merchant: &MerchantId) -> ApiResult<(MadeWith, Arc<dyn Processor>)> {
        let kept =
            self.current.lock().unwrap_or_else(|e| e.into_inner()).get(merchant).filter(|c| c.at.elapsed() < KEEP).map(|c| c.row.clone());
        let row = match kept {
            Some(row) => row,
            None => {
                let row = row_of(store, merchant).await?;
                self.current
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(merchant.clone(), Current { at: Instant::now(), row: row.clone() });
                row
            }
        };
        let made = MadeWith { kind: kind_of(merchant, &row.processor)?, version: row.version };
        Ok((made, self.of_payment(store, keyring, merchant, made).await?))
    }

    /// The processor a payment of `merchant` was made with, with the very credentials it used.
    pub async fn of_payment(
        &self,
        store: &Store,
        keyring: &Keyring,
        merchant: &MerchantId,
        made: MadeWith,
    ) -> ApiResult<Arc<dyn Processor>> {
        let version = match (made.kind, made.version) {
            (ProcessorKind::Sandbox, _) => return Ok(self.sandbox.clone()),
            (ProcessorKind::Stripe, Some(version)) => version,
            (ProcessorKind::Stripe, None) => {
                return Err(ApiError::new(
                    ErrorCode::ProviderError,
                    "This payment was made through Stripe with credentials that are no longer kept; manage it in the Stripe dashboard",
                ))
            }
        };
        let key = (merchant.clone(), version);
        if let Some(built) = self.built.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(built.clone());
        }
        let credentials = version_of(store, keyring, merchant, made.kind, version).await?;
        let processor: Arc<dyn Processor> = Arc::new(self.stripe(&credentials.secret_key));
        Ok(self.built.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_insert(processor).clone())
    }

    /// Forgets which processor is `merchant`'s current one (it just changed).
    pub fn forget(&self, merchant: &MerchantId) {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).remove(merchant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_shows_the_kind_of_key_and_its_end_only() {
        let hint = |key: &str| Credentials { secret_key: key.into(), webhook_secret: None }.hint();
        assert_eq!(hint("sk_test_51Habcdefgh1234"), "sk_test_…1234");
        assert_eq!(hint("rk_live_zzzz9876"), "rk_live_…9876");
        assert!(!format!("{:?}", Credentials { secret_key: "sk_test_secret".into(), webhook_secret: None }).contains("secret"));
    }
}
