//! Per-key rate limits (token buckets). A publishable key is public, so it is limited by default:
//! that is what stops a card-testing script from trying numbers through a shop's checkout.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kassa::api::KeyKind;
use kassa::id::ApiKeyId;

/// Requests per second, per key; 0 means no limit. Each key may burst to twice its rate.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub publishable_per_second: u32,
    pub secret_per_second: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { publishable_per_second: 100, secret_per_second: 0 }
    }
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

pub struct RateLimiter {
    limits: Limits,
    buckets: Mutex<HashMap<ApiKeyId, Bucket>>,
}

impl RateLimiter {
    pub fn new(limits: Limits) -> RateLimiter {
        RateLimiter { limits, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from the key's bucket, or says how long until one is there.
    pub fn check(&self, key: &ApiKeyId, kind: KeyKind) -> Result<(), Duration> {
        let rate = match kind {
            KeyKind::Publishable => self.limits.publishable_per_second,
            KeyKind::Secret | KeyKind::Restricted => self.limits.secret_per_second,
        };
        if rate == 0 {
            return Ok(());
        }
        let (rate, burst) = (f64::from(rate), f64::from(rate) * 2.0);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(key.clone()).or_insert(Bucket { tokens: burst, refilled: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.refilled).as_secs_f64() * rate).min(burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}
