//! `npm run bench` (or `cargo bench -p kassa-server --bench sales`): starts the optimized server
//! on a fresh SQLite file, drives concurrent sales (tokenize with the publishable key, then a sale
//! with the token) from many clients, and measures, on the same disk with the same SQLite settings,
//! the raw commit rate of a one-row insert per transaction.
//!
//! Settings: `KASSA_BENCH_SALES` (default 3000), `KASSA_BENCH_CLIENTS` (default 64).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn post(client: &HttpClient, url: &str, key: &str, body: &Value) -> (u16, Value) {
    let request = hyper::Request::post(url)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = client.request(request).await.expect("request");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// One-row inserts, one transaction each, on one connection: the most commits the disk allows.
async fn raw_commit_rate(dir: &std::path::Path, commits: usize) -> f64 {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.join("raw.db").display()))
        .unwrap()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = options.connect().await.unwrap();
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").execute(&mut conn).await.unwrap();
    let started = Instant::now();
    for i in 0..commits {
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("INSERT INTO t (v) VALUES ($1)").bind(format!("row {i}")).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    commits as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let sales = setting("KASSA_BENCH_SALES", 3000);
    let clients = setting("KASSA_BENCH_CLIENTS", 64);
    let dir = tempfile::tempdir_in(std::env::var("KASSA_BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let db = format!("sqlite://{}", dir.path().join("kassa.db").display());
    let binary = env!("CARGO_BIN_EXE_kassa-server");

    let created = Command::new(binary).args(["merchant", "create", "--name", "Bench", "--database", &db]).output().unwrap();
    let merchant: Value = serde_json::from_slice(&created.stdout).expect("merchant");
    let (sk, pk) = (merchant["secretKey"].as_str().unwrap().to_owned(), merchant["publishableKey"].as_str().unwrap().to_owned());
    let mut server = Command::new(binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db, "--publishable-rate-limit", "0"])
        .env("KASSA_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("server output").unwrap();
        if let Some(addr) = line.strip_prefix("Kassa is listening on ") {
            break addr.to_owned();
        }
    };

    let client: HttpClient = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(clients).build_http();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (client, next, base, sk, pk) = (client.clone(), next.clone(), base.clone(), sk.clone(), pk.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < sales {
                    let began = Instant::now();
                    let card = json!({ "number": "4242424242424242", "expMonth": 12, "expYear": 2034, "cvc": "123" });
                    let (status, token) = post(&client, &format!("{base}/api/v1/payment-methods"), &pk, &json!({ "card": card })).await;
                    assert_eq!(status, 201, "tokenize: {token}");
                    let (status, sale) = post(&client, &format!("{base}/api/v1/payments/sale"), &sk,
                        &json!({ "amountCents": 1999, "currency": "USD", "token": token["data"]["id"] })).await;
                    assert_eq!(status, 201, "sale: {sale}");
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(sales);
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();

    latencies.sort();
    let sales_per_second = latencies.len() as f64 / elapsed.as_secs_f64();
    let commits_per_second = raw_commit_rate(dir.path(), 2000).await;
    let ratio = sales_per_second / commits_per_second;
    println!("## Sales (tokenize + sale), {clients} clients, {} sales", latencies.len());
    println!();
    println!("| figure | value |");
    println!("| --- | --- |");
    println!("| sales per second | {sales_per_second:.0} |");
    println!("| p50 latency (tokenize + sale) | {:.1} ms |", percentile(&latencies, 0.50).as_secs_f64() * 1000.0);
    println!("| p99 latency (tokenize + sale) | {:.1} ms |", percentile(&latencies, 0.99).as_secs_f64() * 1000.0);
    println!("| raw SQLite commits per second (WAL, synchronous FULL, one-row insert) | {commits_per_second:.0} |");
    println!("| sales per second / raw commits per second | {ratio:.2} (aim: at least 0.50) |");
}
