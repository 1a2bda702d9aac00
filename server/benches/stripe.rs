//! `cargo bench -p kassa-server --bench stripe` (part of `npm run bench`): sales per second through
//! Kassa's Stripe connector against localstripe, beside localstripe driven directly with the same
//! flow — the cost Kassa adds on top of its processor.
//!
//! Both sides make the same three Stripe calls per sale: a PaymentMethod from the card, a
//! PaymentIntent, and its confirmation naming a return address for 3-D Secure (Kassa: `POST
//! /payments/sale` with the card, on the optimized server with SQLite). Each side gets a fresh
//! localstripe, so neither pays for the other's records. localstripe is one Python process, so it sets the pace of both.
//!
//! Settings: `KASSA_BENCH_STRIPE_SALES` (default 1000), `KASSA_BENCH_CLIENTS` (default 16).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[allow(unused_imports)]
#[path = "../tests/common/mod.rs"]
mod common;

use common::localstripe::{self, SECRET_KEY};
use common::process::{create_merchant_with, try_request, ServerProcess};
use common::TestDb;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn post(addr: &str, path: &str, key: &str, body: &Value) -> (u16, Value) {
    try_request(addr, "POST", path, key, &[], Some(body)).await.unwrap_or_else(|| panic!("POST {path} to {addr}: no answer"))
}

/// One sale straight at localstripe: the calls the connector makes.
async fn direct_sale(stripe: &str) {
    let (status, method) = post(
        stripe,
        "/v1/payment_methods",
        SECRET_KEY,
        &json!({ "type": "card", "card": { "number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123" } }),
    )
    .await;
    assert_eq!(status, 200, "{method}");
    let (status, pi) = post(
        stripe,
        "/v1/payment_intents",
        SECRET_KEY,
        &json!({ "amount": 1999, "currency": "usd", "payment_method": method["id"], "payment_method_types": ["card"],
                 "capture_method": "automatic", "metadata": { "kassa_call": "bench" } }),
    )
    .await;
    assert_eq!(status, 200, "{pi}");
    let return_url = json!({ "return_url": "http://127.0.0.1:8080/3ds/pi_bench/return" });
    let (status, confirmed) =
        post(stripe, &format!("/v1/payment_intents/{}/confirm", pi["id"].as_str().unwrap()), SECRET_KEY, &return_url).await;
    assert_eq!((status, confirmed["status"].as_str()), (200, Some("succeeded")), "{confirmed}");
}

/// One sale through Kassa.
async fn kassa_sale(kassa: &str, sk: &str) {
    let card = json!({ "number": "4242424242424242", "expMonth": 12, "expYear": 2034, "cvc": "123" });
    let (status, sale) = post(kassa, "/api/v1/payments/sale", sk, &json!({ "amountCents": 1999, "currency": "USD", "card": card })).await;
    assert_eq!((status, sale["data"]["status"].as_str()), (201, Some("captured")), "{sale}");
}

/// `count` sales from `clients` concurrent clients: the rate and each sale's latency.
async fn round<F, Fut>(count: usize, clients: usize, sale: F) -> (f64, Vec<Duration>)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let sale = Arc::new(sale);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (sale, next) = (sale.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    let began = Instant::now();
                    sale().await;
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(count);
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    latencies.sort();
    (latencies.len() as f64 / started.elapsed().as_secs_f64(), latencies)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let sales = setting("KASSA_BENCH_STRIPE_SALES", 1000);
    let clients = setting("KASSA_BENCH_CLIENTS", 16);

    // Straight at localstripe.
    let direct = tokio::task::spawn_blocking(localstripe::start_one).await.unwrap();
    let stripe = direct.trim_start_matches("http://").to_owned();
    let warm = stripe.clone();
    round(100, clients, move || {
        let s = warm.clone();
        async move { direct_sale(&s).await }
    })
    .await;
    let (direct_rate, direct_latencies) = round(sales, clients, move || {
        let s = stripe.clone();
        async move { direct_sale(&s).await }
    })
    .await;

    // Through Kassa, on a localstripe of its own.
    let through = tokio::task::spawn_blocking(localstripe::start_one).await.unwrap();
    let db = TestDb::new().await;
    let merchant = create_merchant_with(&db, "Bench", &["--processor", "stripe", "--processor-secret", SECRET_KEY]);
    let sk = merchant["secretKey"].as_str().unwrap().to_owned();
    let server = ServerProcess::start_with(
        &db,
        &["--stripe-api-base", &through, "--publishable-rate-limit", "0", "--card-attempt-rate-limit", "0"],
        &[("KASSA_LOG", "warn")],
        None,
    );
    let (addr, key) = (server.addr.clone(), sk.clone());
    round(100, clients, move || {
        let (a, k) = (addr.clone(), key.clone());
        async move { kassa_sale(&a, &k).await }
    })
    .await;
    let addr = server.addr.clone();
    let (kassa_rate, kassa_latencies) = round(sales, clients, move || {
        let (a, k) = (addr.clone(), sk.clone());
        async move { kassa_sale(&a, &k).await }
    })
    .await;
    drop(server);

    println!("## Sales through the Stripe connector against localstripe, {clients} clients, {sales} sales each");
    println!();
    println!("| path | sales per second | p50 | p99 |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| localstripe directly (PaymentMethod, PaymentIntent, confirm) | {direct_rate:.0} | {:.1} ms | {:.1} ms |",
        ms(percentile(&direct_latencies, 0.5)),
        ms(percentile(&direct_latencies, 0.99))
    );
    println!(
        "| Kassa `POST /payments/sale` → Stripe connector → localstripe | {kassa_rate:.0} | {:.1} ms | {:.1} ms |",
        ms(percentile(&kassa_latencies, 0.5)),
        ms(percentile(&kassa_latencies, 0.99))
    );
    println!();
    println!(
        "Kassa keeps {:.0}% of localstripe's rate; it adds {:.1} ms to the median sale.",
        100.0 * kassa_rate / direct_rate,
        ms(percentile(&kassa_latencies, 0.5)) - ms(percentile(&direct_latencies, 0.5))
    );
}
