//! `npm run bench` (or `cargo bench -p kassa-server --bench sales`): starts the optimized server
//! on a fresh SQLite file, drives concurrent sales (tokenize with the publishable key, then a sale
//! with the token) from many clients, and measures, on the same disk with the same SQLite settings,
//! the raw commit rate of a one-row insert per transaction. Then the same on PostgreSQL, with one
//! server and with two (the clients alternating), beside PostgreSQL's raw commit rate
//! (`synchronous_commit = on`, one-row insert per transaction, one connection).
//!
//! Settings: `KASSA_BENCH_SALES` (default 10000), `KASSA_BENCH_CLIENTS` (default 64),
//! `KASSA_BENCH_DATABASE_URL` (a PostgreSQL server to use instead of a throwaway durable cluster
//! started from Debian's package), `KASSA_BENCH_SQLITE=0` or `KASSA_BENCH_POSTGRES=0` to skip one.

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

#[allow(unused_imports)]
#[path = "../tests/common/mod.rs"]
mod common;

use common::database;
use common::process::{create_merchant, ServerProcess};
use common::TestDb;

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

const ROUNDS: usize = 3;

/// `count` sales from `clients` concurrent clients: the rate and each sale's latency.
/// Each client talks to the servers in `bases` in turn.
async fn sales_round(client: &HttpClient, bases: &[String], sk: &str, pk: &str, count: usize, clients: usize) -> (f64, Vec<Duration>) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let (client, next, sk, pk) = (client.clone(), next.clone(), sk.to_owned(), pk.to_owned());
            let base = bases[c % bases.len()].clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    let began = Instant::now();
                    let card = json!({ "number": "4242424242424242", "expMonth": 12, "expYear": 2034, "cvc": "123" });
                    let (status, token) = post(&client, &format!("{base}/api/v1/payment-methods"), &pk, &json!({ "card": card })).await;
                    assert_eq!(status, 201, "tokenize: {token}");
                    let (status, sale) = post(
                        &client,
                        &format!("{base}/api/v1/payments/sale"),
                        &sk,
                        &json!({ "amountCents": 1999, "currency": "USD", "token": token["data"]["id"] }),
                    )
                    .await;
                    assert_eq!(status, 201, "sale: {sale}");
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
    (latencies.len() as f64 / started.elapsed().as_secs_f64(), latencies)
}

/// The release server on `db`, as the bench runs it: no rate limits, warnings only.
fn start_server(db: &TestDb) -> ServerProcess {
    ServerProcess::start_with(db, &["--publishable-rate-limit", "0", "--card-attempt-rate-limit", "0"], &[("KASSA_LOG", "warn")], None)
}

/// A merchant's secret and publishable keys.
fn keys(db: &TestDb) -> (String, String) {
    let merchant = create_merchant(db, "Bench");
    (merchant["secretKey"].as_str().unwrap().to_owned(), merchant["publishableKey"].as_str().unwrap().to_owned())
}

/// PostgreSQL's one-row inserts, one transaction each, on one connection.
async fn raw_postgres_commit_rate(url: &str, commits: usize) -> f64 {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query("CREATE TABLE IF NOT EXISTS raw_commits (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v TEXT NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    let started = Instant::now();
    for i in 0..commits {
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("INSERT INTO raw_commits (v) VALUES ($1)").bind(format!("row {i}")).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    commits as f64 / started.elapsed().as_secs_f64()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Sales on PostgreSQL with one server and with two, and its raw commit rate, alternating rounds.
async fn postgres(client: &HttpClient, sales: usize, clients: usize, dir: &std::path::Path) {
    let admin = match std::env::var("KASSA_BENCH_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => database::start_cluster(true),
    };
    let db = TestDb { url: database::create_database(&admin).await, dir: tempfile::tempdir_in(dir).unwrap() };
    let (sk, pk) = keys(&db);
    let (mut one, mut two) = (start_server(&db), start_server(&db));
    let (one_base, two_base) = (one.base(), two.base());
    let mut rows = Vec::new();
    for (label, bases) in [("one server", vec![one_base.clone()]), ("two servers", vec![one_base.clone(), two_base.clone()])] {
        let mut rounds = Vec::new();
        let mut latencies = Vec::new();
        // A warm-up round (connections opened, caches filled) is not counted.
        sales_round(client, &bases, &sk, &pk, sales / 5, clients).await;
        for _ in 0..ROUNDS {
            let (rate, mut round_latencies) = sales_round(client, &bases, &sk, &pk, sales, clients).await;
            let raw = raw_postgres_commit_rate(&db.url, 3000).await;
            rounds.push((rate, raw));
            latencies.append(&mut round_latencies);
        }
        latencies.sort();
        rounds.sort_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)));
        let (rate, raw) = rounds[rounds.len() / 2];
        rows.push(format!(
            "| {label} | {rate:.0} | {:.1} ms | {:.1} ms | {raw:.0} | {:.2} |",
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.99)),
            rate / raw
        ));
    }
    one.stop().await;
    two.stop().await;
    println!();
    println!("## Sales on PostgreSQL, {clients} clients, {ROUNDS} rounds of {sales} sales per configuration (median round)");
    println!();
    println!("| servers | sales per second | p50 (tokenize + sale) | p99 | raw commits per second (synchronous_commit on, one connection) | ratio (aim: two servers at least 1.0, p99 under 50 ms) |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for row in rows {
        println!("{row}");
    }
}

/// One-row inserts, one transaction each, on one connection: the most commits the disk allows.
async fn raw_commit_rate(dir: &std::path::Path, round: usize, commits: usize) -> f64 {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.join(format!("raw-{round}.db")).display()))
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
    let sales = setting("KASSA_BENCH_SALES", 10_000);
    let clients = setting("KASSA_BENCH_CLIENTS", 64);
    let dir = tempfile::tempdir_in(std::env::var("KASSA_BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let client: HttpClient = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(clients).build_http();
    if setting("KASSA_BENCH_SQLITE", 1) != 0 {
        sqlite(&client, sales, clients, dir.path()).await;
    }
    if setting("KASSA_BENCH_POSTGRES", 1) != 0 {
        postgres(&client, sales / 2, clients, dir.path()).await;
    }
}

/// Sales on SQLite, alternating with its raw commit rate.
async fn sqlite(client: &HttpClient, sales: usize, clients: usize, dir: &std::path::Path) {
    let db = TestDb { url: format!("sqlite://{}", dir.join("kassa.db").display()), dir: tempfile::tempdir_in(dir).unwrap() };
    let (sk, pk) = keys(&db);
    let mut server = start_server(&db);
    let bases = [server.base()];

    // The disk's speed drifts, so sales and raw commits alternate and the medians are reported.
    let mut rounds = Vec::new();
    let mut latencies = Vec::with_capacity(sales * ROUNDS);
    for round in 0..ROUNDS {
        let (rate, mut round_latencies) = sales_round(client, &bases, &sk, &pk, sales, clients).await;
        let raw = raw_commit_rate(dir, round, 5000).await;
        rounds.push((rate, raw, rate / raw));
        latencies.append(&mut round_latencies);
    }
    server.stop().await;

    latencies.sort();
    let median = |pick: fn(&(f64, f64, f64)) -> f64| {
        let mut values: Vec<f64> = rounds.iter().map(pick).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let (sales_per_second, commits_per_second, ratio) = (median(|r| r.0), median(|r| r.1), median(|r| r.2));
    println!("## Sales (tokenize + sale), {clients} clients, {ROUNDS} rounds of {sales} sales (medians)");
    println!();
    println!("| figure | value |");
    println!("| --- | --- |");
    println!("| sales per second | {sales_per_second:.0} |");
    println!("| p50 latency (tokenize + sale) | {:.1} ms |", percentile(&latencies, 0.50).as_secs_f64() * 1000.0);
    println!("| p99 latency (tokenize + sale) | {:.1} ms |", percentile(&latencies, 0.99).as_secs_f64() * 1000.0);
    println!("| raw SQLite commits per second (WAL, synchronous FULL, one-row insert) | {commits_per_second:.0} |");
    println!("| sales per second / raw commits per second | {ratio:.2} (aim: at least 0.50) |");
    let each: Vec<String> = rounds.iter().map(|r| format!("{:.0}/{:.0}", r.0, r.1)).collect();
    println!();
    println!("Rounds (sales per second / raw commits per second): {}", each.join(", "));
}
