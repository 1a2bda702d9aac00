//! Each merchant's processor: the sandbox unless the merchant chose a connector. A connector's
//! credentials are sealed with the server's encryption key in the merchant's row, and opened
//! only to build the connector. Servers keep what they built for a few seconds, so a change made
//! on one server reaches the others that quickly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kassa::api::ProcessorKind;
use kassa::id::MerchantId;
use serde::{Deserialize, Serialize};

use super::stripe::{self, StripeProcessor};
use super::Processor;
use crate::crypto::Keyring;
use crate::error::{ApiError, ApiResult};
use crate::store::processors::{self, ProcessorRow};
use crate::store::{Store, Tx};

/// How long a server trusts the processor it built for a merchant.
const KEEP: Duration = Duration::from_secs(3);

/// A connector's credentials, as sealed in the merchant's row.
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

fn context(merchant: &MerchantId) -> String {
    format!("merchants.processor_credentials:{merchant}")
}

/// The credentials as kept in `merchant`'s row: sealed JSON.
pub fn seal(keyring: &Keyring, merchant: &MerchantId, credentials: Option<&Credentials>) -> Option<String> {
    credentials.map(|c| keyring.seal_text(&serde_json::to_string(c).unwrap_or_default(), &context(merchant)))
}

/// Stores `merchant`'s processor with its sealed credentials (see [`seal`]).
pub async fn save(tx: &mut Tx, merchant: &MerchantId, kind: ProcessorKind, sealed: Option<&str>) -> Result<bool, sqlx::Error> {
    processors::set(tx, merchant, kind.as_str(), sealed).await
}

/// A merchant's processor row; the sandbox when it names none.
async fn row_of(store: &Store, merchant: &MerchantId) -> Result<ProcessorRow, sqlx::Error> {
    Ok(processors::find(store, merchant).await?.unwrap_or(ProcessorRow { processor: ProcessorKind::Sandbox.as_str().into(), credentials: None }))
}

/// A merchant's processor as stored: its kind and opened credentials.
pub async fn load(store: &Store, keyring: &Keyring, merchant: &MerchantId) -> ApiResult<(ProcessorKind, Option<Credentials>)> {
    open(keyring, merchant, &row_of(store, merchant).await?)
}

fn open(keyring: &Keyring, merchant: &MerchantId, row: &ProcessorRow) -> ApiResult<(ProcessorKind, Option<Credentials>)> {
    let kind = ProcessorKind::parse(&row.processor).ok_or_else(|| ApiError::internal(format!("merchant {merchant} names an unknown processor")))?;
    let credentials = row
        .credentials
        .as_deref()
        .map(|sealed| {
            let json = keyring.open_text(sealed, &context(merchant)).map_err(|e| ApiError::internal(format!("processor credentials of {merchant}: {e}")))?;
            serde_json::from_str::<Credentials>(&json).map_err(|e| ApiError::internal(format!("processor credentials of {merchant}: {e}")))
        })
        .transpose()?;
    Ok((kind, credentials))
}

/// Seals every merchant's processor credentials again under the current key (after a rotation);
/// returns how many it sealed.
pub async fn reseal_all(store: &Store, keyring: &Keyring) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let mut sealed = 0;
    for (merchant, old) in processors::all_sealed(store).await? {
        if keyring.is_current(&old) {
            continue;
        }
        let plain = keyring.open_text(&old, &context(&merchant))?;
        let new = keyring.seal_text(&plain, &context(&merchant));
        store.write(move |tx| Box::pin(async move { processors::reseal(tx, &merchant, &old, &new).await })).await?;
        sealed += 1;
    }
    Ok(sealed)
}

struct Built {
    at: Instant,
    row: ProcessorRow,
    processor: Arc<dyn Processor>,
}

/// Builds and keeps each merchant's processor.
pub struct Processors {
    sandbox: Arc<dyn Processor>,
    stripe_api_base: String,
    http: OnceLock<stripe::HttpClient>,
    built: Mutex<HashMap<MerchantId, Built>>,
}

impl Processors {
    pub fn new(sandbox: Arc<dyn Processor>, stripe_api_base: &str) -> Processors {
        Processors { sandbox, stripe_api_base: stripe_api_base.to_owned(), http: OnceLock::new(), built: Mutex::default() }
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

    /// The processor `merchant`'s payments go to now.
    pub async fn for_merchant(&self, store: &Store, keyring: &Keyring, merchant: &MerchantId) -> ApiResult<Arc<dyn Processor>> {
        if let Some(built) = self.built.lock().unwrap_or_else(|e| e.into_inner()).get(merchant).filter(|b| b.at.elapsed() < KEEP) {
            return Ok(built.processor.clone());
        }
        let row = row_of(store, merchant).await?;
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(same) = built.get_mut(merchant).filter(|b| b.row == row) {
            same.at = Instant::now();
            return Ok(same.processor.clone());
        }
        let processor: Arc<dyn Processor> = match open(keyring, merchant, &row)? {
            (ProcessorKind::Sandbox, _) => self.sandbox.clone(),
            (ProcessorKind::Stripe, Some(credentials)) => Arc::new(self.stripe(&credentials.secret_key)),
            (ProcessorKind::Stripe, None) => return Err(ApiError::internal(format!("merchant {merchant} uses Stripe without a secret key"))),
        };
        built.insert(merchant.clone(), Built { at: Instant::now(), row, processor: processor.clone() });
        Ok(processor)
    }

    /// Forgets what was built for `merchant` (its processor just changed).
    pub fn forget(&self, merchant: &MerchantId) {
        self.built.lock().unwrap_or_else(|e| e.into_inner()).remove(merchant);
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
