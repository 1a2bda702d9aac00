//! Rate limits (token buckets) per key and per client address, shared by every server of one
//! PostgreSQL database. A publishable key is public, so it
//! is limited by default, and the calls a card tester needs (tokenize, confirm) are limited per
//! client address as well: a script cannot try numbers through a shop's checkout at speed, from
//! one address or with one key. Console sign-ins are limited per client address too, so one
//! address cannot spray passwords across many emails (each email's own lockout never trips) or
//! keep the server hashing passwords.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kassa::api::KeyKind;
use kassa::id::{ApiKeyId, MerchantId};

use crate::store::{rate_limits, Store};

/// Requests per second, per key; 0 means no limit. Each key may burst to twice its rate.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub publishable_per_second: u32,
    pub secret_per_second: u32,
    /// Card tokenizations and confirmations per second from one client address.
    pub card_attempts_per_address_per_second: u32,
    /// Console sign-ins (and password setups) per minute from one client address.
    pub sign_ins_per_address_per_minute: u32,
    /// Requests per minute from one client address to the 3-D Secure pages (each may ask the
    /// processor something).
    pub three_ds_per_address_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            publishable_per_second: 100,
            secret_per_second: 0,
            card_attempts_per_address_per_second: 5,
            sign_ins_per_address_per_minute: 10,
            three_ds_per_address_per_minute: 60,
        }
    }
}

/// How fast a bucket refills: one request every `every`, and at most `burst` at once.
#[derive(Debug, Clone, Copy)]
struct Rate {
    every: Duration,
    burst: u32,
}

impl Rate {
    /// `count` requests per `period`, bursting to twice that; `None` for no limit (0).
    fn per(count: u32, period: Duration) -> Option<Rate> {
        (count > 0).then(|| Rate { every: period / count, burst: count.saturating_mul(2) })
    }
}

/// The scope of the sign-in buckets, which belong to no merchant.
const CONSOLE: &str = "console";
/// The scope of the 3-D Secure pages' buckets: a page's payment is not known before it is read.
const THREE_DS: &str = "3ds";

/// Buckets kept before the idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// Token buckets: each allows `rate` requests a second and bursts of twice that. On SQLite (one
/// server) they live in this process; on PostgreSQL in the database, so that every server behind
/// a load balancer draws from the same bucket.
pub struct RateLimiter {
    limits: Limits,
    buckets: Mutex<HashMap<String, Bucket>>,
    shared: Option<Store>,
}

impl RateLimiter {
    /// Buckets in this process.
    pub fn new(limits: Limits) -> RateLimiter {
        RateLimiter { limits, buckets: Mutex::new(HashMap::new()), shared: None }
    }

    /// Buckets where the servers of `store` share them: in the database on PostgreSQL, in this
    /// process on SQLite.
    pub fn for_store(limits: Limits, store: &Store) -> RateLimiter {
        RateLimiter { shared: store.shared(), ..RateLimiter::new(limits) }
    }

    /// Takes one request from the key's bucket, or says how long until one is there.
    pub async fn check(&self, merchant: &MerchantId, key: &ApiKeyId, kind: KeyKind) -> Result<(), Duration> {
        let rate = match kind {
            KeyKind::Publishable => self.limits.publishable_per_second,
            KeyKind::Secret | KeyKind::Restricted => self.limits.secret_per_second,
        };
        self.take(merchant.as_str(), format!("key:{key}"), Rate::per(rate, Duration::from_secs(1))).await
    }

    /// Takes one card attempt (a tokenization or a confirmation) from the address's bucket.
    pub async fn check_card_attempt(&self, merchant: &MerchantId, address: IpAddr) -> Result<(), Duration> {
        let rate = Rate::per(self.limits.card_attempts_per_address_per_second, Duration::from_secs(1));
        self.take(merchant.as_str(), format!("card-attempt:{address}"), rate).await
    }

    /// Takes one console sign-in (or password setup) from the address's bucket.
    pub async fn check_sign_in(&self, address: IpAddr) -> Result<(), Duration> {
        let rate = Rate::per(self.limits.sign_ins_per_address_per_minute, Duration::from_secs(60));
        self.take(CONSOLE, format!("sign-in:{address}"), rate).await
    }

    /// One request from `address` to a 3-D Secure page.
    pub async fn check_three_ds(&self, address: IpAddr) -> Result<(), Duration> {
        let rate = Rate::per(self.limits.three_ds_per_address_per_minute, Duration::from_secs(60));
        self.take(THREE_DS, format!("3ds:{address}"), rate).await
    }

    /// Takes one request from `scope`'s (a merchant's, or the console's) `bucket`.
    async fn take(&self, scope: &str, bucket: String, rate: Option<Rate>) -> Result<(), Duration> {
        let Some(rate) = rate else { return Ok(()) };
        let Some(store) = &self.shared else { return self.take_here(format!("{scope}:{bucket}"), rate) };
        // One request costs `every`; the bucket holds `burst` of them.
        let cost_us = i64::try_from(rate.every.as_micros()).unwrap_or(i64::MAX).max(1);
        match rate_limits::take(
            store,
            scope,
            &bucket,
            crate::clock::now_ms() * 1000,
            cost_us,
            cost_us.saturating_mul(i64::from(rate.burst)),
        )
        .await
        {
            Ok(None) => Ok(()),
            Ok(Some(wait_us)) => Err(Duration::from_micros(wait_us.max(1) as u64)),
            Err(e) => {
                // A limiter that cannot count lets requests through rather than stop every shop.
                tracing::warn!(error = %e, "rate limit not checked");
                Ok(())
            }
        }
    }

    fn take_here(&self, bucket_key: String, rate: Rate) -> Result<(), Duration> {
        let (rate, burst) = (1.0 / rate.every.as_secs_f64(), f64::from(rate.burst));
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            // A sign-in bucket refills over minutes; the others within seconds.
            buckets.retain(|_, b| now.duration_since(b.refilled) < Duration::from_secs(600));
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
