//! What one server process remembers between requests: the API keys it verified recently, and the
//! idempotency keys whose first request it is running. Both only spare the database work; the
//! database stays the judge (a key's revocation, an idempotency key's claim).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::store::merchants::StoredKey;

/// Keys found recently, by hash, so a busy key is not looked up on every request. An entry lives
/// for [`KeyCache::TTL`], so a key revoked on another server stops working here within seconds;
/// on this server it stops at once.
#[derive(Default)]
pub struct KeyCache(std::sync::Mutex<std::collections::HashMap<String, (std::sync::Arc<StoredKey>, std::time::Instant)>>);

impl KeyCache {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(3);
    const MAX_ENTRIES: usize = 10_000;

    pub(crate) fn get(&self, key_hash: &str) -> Option<std::sync::Arc<StoredKey>> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key_hash).filter(|(_, at)| at.elapsed() < Self::TTL).map(|(key, _)| key.clone())
    }

    /// Forgets a key (it was revoked or rolled here).
    pub fn forget(&self, id: &kassa::id::ApiKeyId) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, (key, _)| key.id != *id);
    }

    pub(crate) fn put(&self, key: std::sync::Arc<StoredKey>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX_ENTRIES {
            map.retain(|_, (_, at)| at.elapsed() < Self::TTL);
        }
        map.insert(key.key_hash.clone(), (key, std::time::Instant::now()));
    }
}

/// Keys whose first request is running in this process: a cheap first check, before the
/// database's.
#[derive(Default, Clone)]
pub struct InFlight(Arc<Mutex<HashSet<(String, String)>>>);

pub(crate) struct InFlightGuard {
    set: InFlight,
    entry: (String, String),
}

impl InFlight {
    pub(crate) fn claim(&self, scope: &str, key: &str) -> Option<InFlightGuard> {
        let entry = (scope.to_owned(), key.to_owned());
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(entry.clone()).then(|| InFlightGuard { set: self.clone(), entry })
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.set.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.entry);
    }
}

/// When the reconciler may ask again about an operation the processor could not answer for: after
/// `first`, then twice as long each time, up to [`Backoff::MOST`]. A zero `first` asks every round.
#[derive(Default)]
pub struct Backoff {
    first: std::time::Duration,
    failed: Mutex<std::collections::HashMap<String, (u32, std::time::Instant)>>,
}

impl Backoff {
    pub const MOST: std::time::Duration = std::time::Duration::from_secs(300);

    pub fn new(first: std::time::Duration) -> Backoff {
        Backoff { first, failed: Mutex::default() }
    }

    /// Whether operation `id` may be asked about now.
    pub fn is_due(&self, id: &str) -> bool {
        self.failed.lock().unwrap_or_else(|e| e.into_inner()).get(id).is_none_or(|(_, next)| std::time::Instant::now() >= *next)
    }

    /// The processor could not say what became of operation `id`.
    pub fn failed(&self, id: &str) {
        if self.first.is_zero() {
            return;
        }
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        // An operation settled elsewhere (by its own answer, an event, another server) is never
        // asked about again: its entry is dropped once it has been due for longer than any wait.
        let now = std::time::Instant::now();
        failed.retain(|_, (_, next)| now.saturating_duration_since(*next) < Self::MOST);
        let tries = failed.get(id).map_or(0, |(tries, _)| *tries);
        let wait = self.first.saturating_mul(1 << tries.min(16)).min(Self::MOST);
        failed.insert(id.to_owned(), (tries + 1, now + wait));
    }

    /// Operation `id` is settled (or gone): nothing more to remember of it.
    pub fn settled(&self, id: &str) {
        self.failed.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}
