//! Rate limits (token buckets) per key and per client address. A publishable key is public, so it
//! is limited by default, and the calls a card tester needs (tokenize, confirm) are limited per
//! client address as well: a script cannot try numbers through a shop's checkout at speed, from
//! one address or with one key.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kassa::api::KeyKind;
use kassa::id::ApiKeyId;

/// Requests per second, per key; 0 means no limit. Each key may burst to twice its rate.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub publishable_per_second: u32,
    pub secret_per_second: u32,
    /// Card tokenizations and confirmations per second from one client address.
    pub card_attempts_per_address_per_second: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { publishable_per_second: 100, secret_per_second: 0, card_attempts_per_address_per_second: 5 }
    }
}

/// Buckets kept before the idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

pub struct RateLimiter {
    limits: Limits,
    buckets: Mutex<HashMap<String, Bucket>>,
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
        self.take(format!("key:{key}"), rate)
    }

    /// Takes one card attempt (a tokenization or a confirmation) from the address's bucket.
    pub fn check_card_attempt(&self, address: IpAddr) -> Result<(), Duration> {
        self.take(format!("card-attempt:{address}"), self.limits.card_attempts_per_address_per_second)
    }

    /// Takes one request from a bucket of the caller's naming, refilled at `per_second`.
    pub fn check_named(&self, bucket: String, per_second: u32) -> Result<(), Duration> {
        self.take(format!("named:{bucket}"), per_second)
    }

    fn take(&self, bucket_key: String, rate: u32) -> Result<(), Duration> {
        if rate == 0 {
            return Ok(());
        }
        let (rate, burst) = (f64::from(rate), f64::from(rate) * 2.0);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, b| now.duration_since(b.refilled) < Duration::from_secs(60));
        }
        let bucket = buckets.entry(bucket_key).or_insert(Bucket { tokens: burst, refilled: now });
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
