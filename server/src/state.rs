use std::sync::Arc;
use std::time::Duration;

use crate::caches::{InFlight, KeyCache};
use crate::crypto::Keyring;
use crate::rate_limit::{Limits, RateLimiter};
use kassa::id::MerchantId;

use crate::error::{ApiError, ApiResult};
use crate::processor::registry::{MadeWith, Processors};
use crate::processor::Processor;
use crate::store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Each merchant's processor (the sandbox unless the merchant chose another).
    pub processors: Arc<Processors>,
    pub in_flight: InFlight,
    pub rate_limiter: Arc<RateLimiter>,
    pub key_cache: Arc<KeyCache>,
    /// The server's encryption keys (secrets at rest).
    pub keyring: Arc<Keyring>,
    /// How long a processor call may take before its outcome counts as unknown.
    pub processor_timeout: Duration,
    /// Test mode: webhook endpoints may be on loopback.
    pub allow_loopback_webhooks: bool,
    /// How console sessions and sign-ins are limited.
    pub console: crate::users::Policy,
    /// When the reconciler asks again about an operation the processor could not answer for.
    pub reconcile_backoff: Arc<crate::caches::Backoff>,
    /// The proxies whose `X-Forwarded-For` and `Forwarded` headers say who the client is
    /// (`--trusted-proxy`); from any other peer they are ignored.
    pub trusted_proxies: Arc<[crate::http::address::Cidr]>,
    /// Which header those proxies write the client's address in (`--forwarded-header`).
    pub forwarded_header: crate::http::address::ForwardedHeader,
    /// How many password hashes run at once, shared by sign-ins and setups.
    pub hashing: crate::users::Hashing,
}

impl AppState {
    pub fn new(store: Store, processor: Arc<dyn Processor>) -> AppState {
        AppState::with_limits(store, processor, Limits::default())
    }

    pub fn with_limits(store: Store, processor: Arc<dyn Processor>, limits: Limits) -> AppState {
        AppState {
            rate_limiter: Arc::new(RateLimiter::for_store(limits, &store)),
            store,
            processors: Arc::new(Processors::new(processor, crate::processor::stripe::DEFAULT_API_BASE)),
            in_flight: InFlight::default(),
            key_cache: Arc::default(),
            keyring: Arc::new(Keyring::random()),
            processor_timeout: Duration::from_secs(30),
            allow_loopback_webhooks: false,
            console: crate::users::Policy::default(),
            reconcile_backoff: Arc::default(),
            trusted_proxies: Arc::new([]),
            forwarded_header: Default::default(),
            hashing: crate::users::Hashing::for_this_machine(),
        }
    }

    /// The processor `merchant`'s new payments go to.
    pub async fn processor_for(&self, merchant: &MerchantId) -> ApiResult<Arc<dyn Processor>> {
        Ok(self.current_processor(merchant).await?.1)
    }

    /// [`AppState::processor_for`], with what a payment made with it records.
    pub async fn current_processor(&self, merchant: &MerchantId) -> ApiResult<(MadeWith, Arc<dyn Processor>)> {
        self.processors.for_merchant(&self.store, &self.keyring, merchant).await
    }

    /// The processor a payment was made with (`made`, as recorded on it), with the very
    /// credentials it used, whatever the merchant uses now: it is captured, voided, refunded and
    /// looked up there.
    pub async fn processor_of_payment(&self, merchant: &MerchantId, made: Option<MadeWith>) -> ApiResult<Arc<dyn Processor>> {
        let made = made.ok_or_else(|| ApiError::internal(format!("a payment of {merchant} names no processor")))?;
        self.processors.of_payment(&self.store, &self.keyring, merchant, made).await
    }
}
